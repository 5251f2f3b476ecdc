"""Retrieval quality regression on a fixed slice of SciFact, on both backends.

The slice: the first 100 test queries (file order) and a corpus of every document judged
for them plus the first 1,200 documents of the corpus, with the dataset's precomputed
all-MiniLM-L6-v2 vectors. Each mode's nDCG@10 must stay within ``MARGIN`` of the value
measured when the defaults were tuned (docs/quality.md), and the two backends must rank
alike: keyword and vector top-10 overlap >= 0.95 on this slice (measured: 1.0 and 1.0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent_brain import HybridSearcher, StorageBackendProtocol, create_backend
from agent_brain.config import AgentBrainConfig
from agent_brain.eval.beir import BeirDataset
from agent_brain.eval.runner import EVAL_MODES, load_corpus, query_vectors, run_mode
from conftest import shared_postgres

QUERIES = 100
HEAD = 1_200
NAMESPACE = "scifact-slice"
MARGIN = 0.01
MEASURED = {  # nDCG@10 on this slice with the default settings, both backends
    "vector": 0.7999,
    "keyword": 0.8323,
    "hybrid-rrf": 0.8583,
    "hybrid-weighted": 0.8705,
}


def slice_of(data: BeirDataset) -> BeirDataset:
    query_ids = list(data.queries)[:QUERIES]
    judged = {doc for q in query_ids for doc in data.qrels[q]}
    rows = [i for i, d in enumerate(data.corpus) if i < HEAD or d.id in judged]
    assert data.corpus_embeddings is not None
    return dataclasses.replace(
        data,
        corpus=[data.corpus[i] for i in rows],
        corpus_embeddings=data.corpus_embeddings[rows],
        queries={q: data.queries[q] for q in query_ids},
        qrels={q: data.qrels[q] for q in query_ids},
        query_embeddings={q: data.query_embeddings[q] for q in query_ids},
    )


def config_for(backend: str) -> AgentBrainConfig:
    config = AgentBrainConfig()
    config.storage.backend = backend
    config.embedding.provider = "sentence-transformers"  # the precomputed vectors' model
    config.embedding.model = "all-MiniLM-L6-v2"
    return config


@pytest.fixture(scope="module")
def data(scifact: BeirDataset) -> BeirDataset:
    return slice_of(scifact)


@pytest.fixture(scope="module")
async def stores(
    data: BeirDataset, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, StorageBackendProtocol]]:
    chroma = config_for("chroma")
    chroma.storage.chroma.path = str(Path(tmp_path_factory.mktemp("slice")) / "chroma")
    server = await shared_postgres()
    postgres = server.config(await server.create_database(), config_for("postgres"))
    opened: dict[str, StorageBackendProtocol] = {}
    try:
        for name, config in (("chroma", chroma), ("postgres", postgres)):
            backend = create_backend(config)
            await backend.initialize()
            opened[name] = backend
            await load_corpus(backend, data, NAMESPACE, None)
        yield opened
    finally:
        for backend in opened.values():
            await backend.close()
        assert postgres.storage.postgres.dsn
        await server.drop_database(postgres.storage.postgres.dsn)


@pytest.mark.parametrize("backend_name", ["chroma", "postgres"])
async def test_ndcg_holds(
    data: BeirDataset, stores: dict[str, StorageBackendProtocol], backend_name: str
) -> None:
    """If this fails, a change moved ranking quality: check the analyzer, BM25 parameters,
    fusion defaults and the vector index settings against docs/quality.md."""
    searcher = HybridSearcher(stores[backend_name])
    vectors, _ = await query_vectors(data, None)
    measured = {}
    for mode in EVAL_MODES:
        result = await run_mode(searcher, data, mode, namespace=NAMESPACE, vectors=vectors)
        measured[mode] = round(result.ndcg_at_10, 4)
    low = {m: v for m, v in measured.items() if v < MEASURED[m] - MARGIN}
    assert not low, f"nDCG@10 fell on {backend_name}: {low} (expected {MEASURED}, got {measured})"


async def test_backends_rank_alike(
    data: BeirDataset, stores: dict[str, StorageBackendProtocol]
) -> None:
    """Both backends return nearly the same top 10 for every query.
    If this fails, compare the analyzer with PostgreSQL's to_tsvector (tests/postgres)."""
    vectors, _ = await query_vectors(data, None)
    overlap: dict[str, list[float]] = {"keyword": [], "vector": []}
    for query_id, text in data.queries.items():
        tops = {}
        for name, backend in stores.items():
            keyword = await backend.keyword_search(text, 10, NAMESPACE)
            vector = await backend.vector_search(vectors[query_id], 10, NAMESPACE)
            tops[name] = ({r.id for r in keyword}, {r.id for r in vector})
        for index, mode in enumerate(("keyword", "vector")):
            a, b = tops["chroma"][index], tops["postgres"][index]
            overlap[mode].append(len(a & b) / max(1, max(len(a), len(b))))
    keyword = sum(overlap["keyword"]) / len(overlap["keyword"])
    vector = sum(overlap["vector"]) / len(overlap["vector"])
    assert keyword >= 0.95, f"keyword top-10 overlap {keyword:.3f}"
    assert vector >= 0.95, f"vector top-10 overlap {vector:.3f}"
