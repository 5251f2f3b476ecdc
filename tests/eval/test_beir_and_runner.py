"""BEIR folder loading and the eval runner over the protocol (in-memory backend)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agent_brain.embedders import HashingEmbedder
from agent_brain.errors import InvalidInputError
from agent_brain.eval import load_beir
from agent_brain.eval.runner import load_corpus, query_vectors, run_mode
from agent_brain.hybrid import HybridSearcher
from tests.eval.beir_fixture import TOPICS, build_beir
from tests.ingest.memory import MemoryBackend


def test_load_beir_test_split(tmp_path: Path) -> None:
    data = load_beir(build_beir(tmp_path / "tiny"))
    assert data.name == "tiny"
    assert data.split == "test"
    assert [d.id for d in data.corpus] == [f"doc{i}" for i in range(len(TOPICS))]
    assert data.corpus[0].content == "Title 0 All about apple orchard harvest."
    assert list(data.queries) == [f"q{i}" for i in range(len(TOPICS))]  # unjudged dropped
    assert data.qrels["q0"] == {"doc0": 1, "doc3": 0}
    assert data.corpus_embeddings is None
    assert data.query_embeddings == {}


def test_load_beir_train_split_and_plain_corpus(tmp_path: Path) -> None:
    data = load_beir(build_beir(tmp_path / "tiny", gz=False), "train")
    assert data.queries == {"t0": "lava"}
    assert data.qrels == {"t0": {"doc1": 2}}
    with pytest.raises(InvalidInputError, match="no qrels for split 'dev'"):
        load_beir(tmp_path / "tiny", "dev")


def test_load_beir_aligns_precomputed_embeddings_by_id(tmp_path: Path) -> None:
    data = load_beir(build_beir(tmp_path / "tiny", embeddings=True))
    assert data.corpus_embeddings is not None
    assert data.corpus_embeddings.dtype == np.float32
    for i in range(len(TOPICS)):  # rows were stored reversed; loading re-aligns them
        assert data.corpus_embeddings[i].argmax() == i
    assert set(data.query_embeddings) == set(data.queries)


def test_load_beir_reports_problems(tmp_path: Path) -> None:
    root = build_beir(tmp_path / "tiny", embeddings=True)
    (root / "ids_corpus.txt").write_text("doc0\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="one row per id"):
        load_beir(root)
    (root / "queries.jsonl").write_text(json.dumps({"_id": "q0", "text": "x"}) + "\n",
                                        encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"missing from queries\.jsonl"):
        load_beir(root, embeddings=False)
    with pytest.raises(InvalidInputError, match="no corpus"):
        load_beir(tmp_path)


async def test_runner_loads_once_and_scores_modes(tmp_path: Path) -> None:
    data = load_beir(build_beir(tmp_path / "tiny"))
    backend = MemoryBackend(dimension=64)
    embedder = HashingEmbedder(64)
    assert await load_corpus(backend, data, "ev", embedder.embed) == "loaded"
    assert await backend.count(namespace="ev") == len(TOPICS)
    stored = await backend.get(["doc2"], namespace="ev")
    assert stored[0].metadata == {"title": "Title 2"}
    writes = len(backend.upserts)
    assert await load_corpus(backend, data, "ev", embedder.embed) == "reused"
    assert len(backend.upserts) == writes

    vectors, _ = await query_vectors(data, embedder.embed)
    searcher = HybridSearcher(backend)
    for mode in ("vector", "keyword", "hybrid-rrf", "hybrid-weighted"):
        result = await run_mode(searcher, data, mode, namespace="ev", vectors=vectors)
        assert result.queries == len(TOPICS)
        assert result.ndcg_at_10 == pytest.approx(1.0), mode
        assert result.recall_at_100 == 1.0
        assert result.mrr_at_10 == 1.0
        assert 0 <= result.latency_p50_ms <= result.latency_p95_ms


async def test_runner_refuses_a_foreign_namespace_unless_reloading(tmp_path: Path) -> None:
    data = load_beir(build_beir(tmp_path / "tiny", embeddings=True))
    backend = MemoryBackend(dimension=8)
    from agent_brain.types import Chunk

    await backend.upsert([Chunk("other", "other text", None, {})], namespace="ev")
    with pytest.raises(InvalidInputError, match="--reload"):
        await load_corpus(backend, data, "ev", None)
    assert await load_corpus(backend, data, "ev", None, reload=True) == "loaded"
    assert await backend.count(namespace="ev") == len(TOPICS)
    vectors, seconds = await query_vectors(data, None)
    assert seconds >= 0
    assert set(vectors) == set(data.queries)
    result = await run_mode(HybridSearcher(backend), data, "vector", namespace="ev",
                            vectors=vectors)
    assert result.ndcg_at_10 == pytest.approx(1.0)
