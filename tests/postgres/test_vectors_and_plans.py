"""Vector search on the index: query-time settings are transaction-local and take effect,
plans use the HNSW / IVFFlat, postings and GIN indexes, and filtered searches return exactly
min(top_k, matches) with good recall against a numpy brute force."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from agent_brain import Chunk
from agent_brain.backends.postgres import PGBackend, bm25, namespaces, vectors
from agent_brain.config import AgentBrainConfig
from tests.postgres.conftest import make_config

pytestmark = pytest.mark.postgres

DIM = 32
N = 3_000


def embedding_like(n: int, seed: int) -> np.ndarray[Any, Any]:
    """Vectors on a 12-dimensional manifold inside 32 dimensions, clustered: neighbours are
    meaningfully closer than the rest, as with text embeddings."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((60, 12))[rng.integers(0, 60, n)]
    latent += 0.6 * rng.standard_normal((n, 12))
    x = latent @ rng.standard_normal((12, DIM)) + 0.3 * rng.standard_normal((n, DIM))
    x = x.astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


@pytest.fixture
async def loaded(pg_dsn: str) -> AsyncIterator[tuple[PGBackend, np.ndarray[Any, Any]]]:
    """3,000 vectors in namespace "v", searched on the index (no exact shortcut)."""
    x = embedding_like(N + 40, seed=3)
    config = make_config(pg_dsn, dimension=DIM)
    backend = PGBackend(config)
    backend.exact_scan_max_vectors = 0
    await backend.initialize()
    words = ["alpha", "beta", "gamma", "delta", "omega"]
    chunks = [Chunk(f"c{i:05d}", f"{words[i % 5]} item {i} " + ("rare" if i % 500 == 0 else ""),
                    x[i], {"bucket": i % 100, "rare": i in (5, 905, 2005)})
              for i in range(N)]
    await backend.upsert(chunks, namespace="v")
    try:
        yield backend, x
    finally:
        await backend.close()


async def plan(backend: PGBackend, sql: str, *args: Any, settings: bool = True) -> str:
    async with backend._connection() as connection, connection.transaction():
        if settings:
            await vectors.apply_settings(
                connection, vectors.query_settings(backend._settings.index, 10, True))
        rows = await connection.fetch("EXPLAIN " + sql, *args)
    return "\n".join(r[0] for r in rows)


async def test_plain_vector_search_uses_hnsw(loaded: tuple[PGBackend, Any]) -> None:
    backend, x = loaded
    async with backend._connection() as connection:
        ns = await namespaces.find(connection, "v")
    assert ns is not None
    text = await plan(backend, vectors.approximate_sql(ns, DIM, "(TRUE)"), x[0], 18)
    assert f"Index Scan using chunks_p{ns.id}_embedding" in text, text
    exact = await plan(backend, vectors.exact_sql(ns, "(TRUE)"), x[0], 10)
    assert "_embedding" not in exact, exact  # the exact scan can never use the index


async def test_keyword_search_uses_postings_and_gin(loaded: tuple[PGBackend, Any]) -> None:
    backend, _ = loaded
    async with backend._connection() as connection, connection.transaction():
        ns = await namespaces.find(connection, "v")
        assert ns is not None
        terms = await bm25.analyze(connection, "rare alpha", "english")
        query = await bm25.plan(connection, ns, terms, backend.config.keyword)
    assert query is not None
    args = [query.terms, query.weights, 2.2, 1.2, 0.75, query.average_length, 10]
    unfiltered = await plan(backend, bm25.search_sql(ns, 2), *args, settings=False)
    assert f"Index Only Scan using postings_p{ns.id}_pkey" in unfiltered, unfiltered
    filtered = await plan(backend, bm25.search_sql(ns, 2, "filtered", "(c.metadata @> $9::jsonb)"),
                          *args, bm25.tsquery(query.terms), '{"rare": true}', settings=False)
    assert "Bitmap Index Scan on chunks_p" in filtered, filtered
    assert "tsv" in filtered, filtered


async def test_query_settings_are_transaction_local(loaded: tuple[PGBackend, Any]) -> None:
    """set_config(..., true) inside the search's transaction, both ways a search applies
    them (with the namespace lookup, and on their own): visible there, gone after, so a
    pooled connection (released without a RESET ALL) never carries one search's settings
    into the next."""
    backend, _ = loaded
    settings = vectors.query_settings(backend._settings.index, 10, True)
    read = ("SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan'),"
            " current_setting('hnsw.max_scan_tuples')")
    for apply in ("find", "apply_settings"):
        async with backend._connection() as connection:
            before = await connection.fetchval("SELECT current_setting('hnsw.ef_search', true)")
            async with connection.transaction():
                if apply == "find":
                    assert await namespaces.find(connection, "v", settings) is not None
                else:
                    await vectors.apply_settings(connection, settings)
                inside = await connection.fetch(read)
            after = await connection.fetchval("SELECT current_setting('hnsw.ef_search', true)")
        assert tuple(inside[0]) == ("100", "strict_order", "20000"), apply
        assert after == before, apply
        assert after != "100", apply
        async with backend._connection() as connection:  # the same or another pooled one
            again = await connection.fetchval("SELECT current_setting('hnsw.ef_search', true)")
        assert again != "100", apply


async def test_ef_search_takes_effect(loaded: tuple[PGBackend, Any]) -> None:
    """With iterative scans off, an HNSW scan yields at most ef_search rows: ef_search=1
    returns one row, the configured 100 returns all ten, so the setting reached the scan."""
    backend, x = loaded
    index = backend._settings.index.model_copy(update={"ef_search": 1,
                                                        "iterative_scan": "off"})
    async with backend._connection() as connection:
        ns = await namespaces.find(connection, "v")
        assert ns is not None
        counts = []
        for settings in (vectors.query_settings(index, 1, True),
                         vectors.query_settings(backend._settings.index, 10, True)):
            async with connection.transaction():
                await vectors.apply_settings(connection, settings)
                rows = await connection.fetch(vectors.approximate_sql(ns, DIM, "(TRUE)"),
                                              x[0], 10)
                counts.append(len(rows))
    assert counts == [1, 10]


async def test_short_index_answer_falls_back_to_exact(pg_dsn: str) -> None:
    """Configured so the index can only return one row, searches still return exactly
    top_k (the exact fallback), filtered or not."""
    config = make_config(pg_dsn, dimension=DIM, ef_search=1, iterative_scan="off")
    x = embedding_like(400, seed=5)
    async with PGBackend(config) as backend:
        backend.exact_scan_max_vectors = 0
        await backend.upsert([Chunk(f"c{i}", "t", x[i], {"b": i % 4}) for i in range(400)])
        assert len(await backend.vector_search(x[0], top_k=25)) == 25
        filtered = await backend.vector_search(x[0], top_k=25, filters={"b": {"$lt": 1}})
        assert len(filtered) == 25
        ids = [i for i in range(400) if i % 4 == 0]
        truth = [f"c{i}" for i in sorted(ids, key=lambda i: -float(x[i] @ x[0]))[:25]]
        assert [r.id for r in filtered] == truth


@pytest.mark.parametrize(("label", "filters", "share"), [
    ("1% equality", {"bucket": 7}, 0.01),
    ("1% range", {"bucket": {"$gte": 99}}, 0.01),
    ("10% range", {"bucket": {"$lt": 10}}, 0.10),
    ("no filter", None, 1.0),
])
async def test_filtered_recall_and_exact_counts(
    loaded: tuple[PGBackend, Any], label: str, filters: Any, share: float
) -> None:
    backend, x = loaded
    buckets = np.arange(N) % 100
    mask = {"1% equality": buckets == 7, "1% range": buckets >= 99,
            "10% range": buckets < 10, "no filter": np.ones(N, dtype=bool)}[label]
    assert abs(mask.mean() - share) < 1e-9
    ids = np.flatnonzero(mask)
    recalls = []
    for q in x[N:N + 40]:
        results = await backend.vector_search(q, top_k=10, namespace="v", filters=filters)
        assert len(results) == 10, label
        truth = {f"c{i:05d}" for i in ids[np.argsort(-(x[ids] @ q))[:10]]}
        assert {r.id for r in results} <= {f"c{i:05d}" for i in ids}, label
        recalls.append(len(truth & {r.id for r in results}) / 10)
    assert np.mean(recalls) >= 0.95, (label, np.mean(recalls))


async def test_filter_with_fewer_matches_than_top_k(loaded: tuple[PGBackend, Any]) -> None:
    backend, x = loaded
    results = await backend.vector_search(x[N], top_k=10, namespace="v",
                                          filters={"rare": True})
    assert sorted(r.id for r in results) == ["c00005", "c00905", "c02005"]
    keyword = await backend.keyword_search("rare", top_k=10, namespace="v",
                                           filters={"bucket": {"$lt": 10}})
    assert sorted(r.id for r in keyword) == [f"c{i:05d}" for i in range(0, N, 500)]


async def test_ivfflat(pg_dsn: str) -> None:
    config: AgentBrainConfig = make_config(pg_dsn, dimension=DIM, kind="ivfflat", lists=8,
                                           probes=2)
    x = embedding_like(600, seed=9)
    async with PGBackend(config) as backend:
        backend.exact_scan_max_vectors = 0
        assert backend.capabilities.vector_index == "ivfflat"
        await backend.upsert([Chunk(f"c{i:03d}", "t", x[i], {"b": i % 3}) for i in range(600)])
        info = await backend.info()
        assert info.settings["namespace_vector_indexes"] == {"default": "ivfflat(lists=8)"}
        async with backend._connection() as connection:
            ns = await namespaces.find(connection, "default")
        assert ns is not None
        text = await plan(backend, vectors.approximate_sql(ns, DIM, "(TRUE)"), x[0], 18)
        assert "_embedding" in text, text
        results = await backend.vector_search(x[0], top_k=10)
        assert results[0].id == "c000"
        assert len(results) == 10
        truth = {f"c{i:03d}" for i in np.argsort(-(x[:600] @ x[0]))[:10]}
        assert len(truth & {r.id for r in results}) >= 8
        assert len(await backend.vector_search(x[1], top_k=10, filters={"b": 1})) == 10


async def test_remembered_namespace_survives_other_writers(pg_dsn: str) -> None:
    """A vector search may skip the namespace lookup for a namespace it searched through the
    index a moment ago. Writes by another backend (another process) in that moment must not
    make it wrong: the namespace emptied, reset and refilled under a new partition, or
    shrunk to one vector, each answers exactly."""
    config = make_config(pg_dsn, dimension=DIM)
    x = embedding_like(300, seed=11)
    async with PGBackend(config) as reader, PGBackend(config) as writer:
        reader.exact_scan_max_vectors = 0
        await writer.upsert([Chunk(f"a{i}", "t", x[i]) for i in range(200)], namespace="r")
        first = await reader.vector_search(x[0], top_k=5, namespace="r")
        assert first[0].id == "a0"
        assert "r" in reader._indexed  # remembered: the next search skips the lookup

        await writer.delete(ids=[f"a{i}" for i in range(200)], namespace="r")
        assert await reader.vector_search(x[0], top_k=5, namespace="r") == []

        await writer.upsert([Chunk(f"b{i}", "t", x[100 + i]) for i in range(150)],
                            namespace="r")
        got = await reader.vector_search(x[100], top_k=5, namespace="r")
        truth = sorted(range(100, 250), key=lambda i: -float(x[i] @ x[100]))[:5]
        assert [r.id for r in got] == [f"b{i - 100}" for i in truth]

        assert "r" in reader._indexed
        await writer.reset(namespace="r")  # the remembered partition is dropped ...
        await writer.upsert([Chunk("c0", "t", x[7])], namespace="r")  # ... and replaced
        assert [r.id for r in await reader.vector_search(x[0], top_k=5, namespace="r")] == [
            "c0"]
        await writer.reset(namespace="r")
        assert await reader.vector_search(x[0], top_k=5, namespace="r") == []
