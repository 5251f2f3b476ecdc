"""Load a BEIR corpus into a backend and measure each search mode on its queries.

Everything goes through the storage protocol and :class:`~agent_brain.HybridSearcher`, so
the numbers mean the same on every backend. Latency is the wall time of each search call
(query embeddings are computed beforehand and timed separately).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from agent_brain.errors import InvalidInputError
from agent_brain.eval.beir import BeirDataset
from agent_brain.eval.metrics import mean, mrr_at_k, ndcg_at_k, percentile, recall_at_k
from agent_brain.hybrid import Fusion, HybridSearcher, Mode
from agent_brain.protocol import StorageBackendProtocol
from agent_brain.types import Chunk

EVAL_MODES: tuple[str, ...] = ("vector", "keyword", "hybrid-rrf", "hybrid-weighted")
LOAD_BATCH = 256
SAMPLE = 50

EmbedFn = Callable[[list[str]], Awaitable[list[list[float]]]]


@dataclass(frozen=True, slots=True)
class ModeResult:
    mode: str
    queries: int
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    latency_p50_ms: float
    latency_p95_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "queries": self.queries,
            "ndcg@10": round(self.ndcg_at_10, 5),
            "recall@100": round(self.recall_at_100, 5),
            "mrr@10": round(self.mrr_at_10, 5),
            "latency_ms": {"p50": round(self.latency_p50_ms, 3),
                           "p95": round(self.latency_p95_ms, 3)},
        }


async def corpus_is_loaded(
    backend: StorageBackendProtocol, dataset: BeirDataset, namespace: str
) -> bool | None:
    """``True`` if ``namespace`` holds exactly the corpus (same count; a spread sample of
    ids present with the same text and an embedding), ``None`` if it is empty, ``False``
    if it holds something else."""
    stored = await backend.count(namespace=namespace)
    if stored == 0:
        return None
    if stored != len(dataset.corpus):
        return False
    step = max(1, len(dataset.corpus) // SAMPLE)
    sample = dataset.corpus[::step][:SAMPLE] + dataset.corpus[-1:]
    found = {c.id: c for c in await backend.get(ids=[d.id for d in sample],
                                               namespace=namespace)}
    return all(
        d.id in found and found[d.id].text == d.content and found[d.id].embedding is not None
        for d in sample
    )


async def load_corpus(
    backend: StorageBackendProtocol,
    dataset: BeirDataset,
    namespace: str,
    embed: EmbedFn | None,
    *,
    reload: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> Literal["loaded", "reused"]:
    """Make ``namespace`` hold the corpus: reuse it when it already does, load it when it
    is empty (or ``reload`` is set), refuse to mix it with other data otherwise."""
    state = await corpus_is_loaded(backend, dataset, namespace)
    if state is True and not reload:
        return "reused"
    if state is False and not reload:
        count = await backend.count(namespace=namespace)
        raise InvalidInputError(
            f"namespace {namespace!r} already holds {count} chunks that are not exactly the "
            f"{len(dataset.corpus)} documents of {dataset.name}",
            hint="pick a fresh --namespace, or pass --reload to empty this one and reload it",
        )
    if state is not None:
        await backend.reset(namespace=namespace)
    for start in range(0, len(dataset.corpus), LOAD_BATCH):
        docs = dataset.corpus[start:start + LOAD_BATCH]
        texts = [d.content for d in docs]
        vectors: Sequence[Sequence[float] | None]
        if dataset.corpus_embeddings is not None:
            vectors = dataset.corpus_embeddings[start:start + len(docs)].tolist()
        elif embed is not None:
            vectors = await embed(texts)
        else:
            vectors = [None] * len(docs)
        await backend.upsert(
            [Chunk(d.id, text, vector, {"title": d.title} if d.title else {})
             for d, text, vector in zip(docs, texts, vectors, strict=True)],
            namespace=namespace,
        )
        if on_progress:
            on_progress(len(docs))
    return "loaded"


async def query_vectors(
    dataset: BeirDataset, embed: EmbedFn | None, batch_size: int = 64
) -> tuple[dict[str, list[float]], float]:
    """Every query's vector (precomputed where available, embedded otherwise) and the
    seconds spent embedding."""
    vectors = {q: v.tolist() for q, v in dataset.query_embeddings.items()}
    missing = [q for q in dataset.queries if q not in vectors]
    started = time.perf_counter()
    if missing:
        if embed is None:
            raise InvalidInputError(
                f"{len(missing)} queries have no precomputed embedding and no embedder is "
                "available",
                hint="add the query embeddings file, or configure an embedder",
            )
        for start in range(0, len(missing), batch_size):
            batch = missing[start:start + batch_size]
            for query_id, vector in zip(
                batch, await embed([dataset.queries[q] for q in batch]), strict=True
            ):
                vectors[query_id] = vector
    return vectors, time.perf_counter() - started


async def run_mode(
    searcher: HybridSearcher,
    dataset: BeirDataset,
    mode: str,
    *,
    namespace: str,
    top_k: int = 100,
    vectors: dict[str, list[float]] | None = None,
    on_query: Callable[[], None] | None = None,
) -> ModeResult:
    """Search every query in ``mode`` (one of :data:`EVAL_MODES`) and score the rankings."""
    if mode not in EVAL_MODES:
        raise InvalidInputError(f"unknown eval mode {mode!r}",
                                hint="choose from " + ", ".join(EVAL_MODES))
    base, _, fusion = mode.partition("-")
    ndcg: list[float] = []
    recall: list[float] = []
    mrr: list[float] = []
    latencies: list[float] = []
    for query_id, text in dataset.queries.items():
        vector = vectors.get(query_id) if vectors is not None and base != "keyword" else None
        started = time.perf_counter()
        results = await searcher.search(
            text, vector, top_k=top_k, mode=cast(Mode, base),
            fusion=cast(Fusion | None, fusion or None), namespace=namespace,
        )
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = [r.id for r in results]
        judged = dataset.qrels[query_id]
        ndcg.append(ndcg_at_k(ranked, judged, 10))
        recall.append(recall_at_k(ranked, judged, 100))
        mrr.append(mrr_at_k(ranked, judged, 10))
        if on_query:
            on_query()
    return ModeResult(
        mode, len(ndcg), mean(ndcg), mean(recall), mean(mrr),
        percentile(latencies, 50), percentile(latencies, 95),
    )
