"""vector_search: brute-force cosine ranking, score definition, chunks without embeddings,
ties, top_k beyond the namespace, and refused queries."""

from __future__ import annotations

import math

import pytest

from agent_brain import Chunk, StorageBackendProtocol
from agent_brain.errors import DimensionMismatchError, InvalidInputError
from contract_tests import oracle
from contract_tests.data import DIM, axis, random_vector, rng


def _vector_corpus() -> list[Chunk]:
    """120 chunks: random vectors, every 7th without one, duplicates and exact multiples
    (exact score ties broken by id)."""
    gen = rng(21)
    chunks = []
    for i in range(120):
        vector = None if i % 7 == 3 else random_vector(gen)
        chunks.append(Chunk(f"v{i:03d}", f"apple {i}", vector, {"i": i, "odd": i % 2 == 1}))
    twin = random_vector(gen)
    for cid in ("w5", "w1", "w3", "w0"):
        chunks.append(Chunk(cid, "twin", twin, {"twin": True}))
    chunks.append(Chunk("w2", "twin", [2.0 * x for x in twin], {"twin": True}))
    chunks.append(Chunk("w4", "twin", [0.5 * x for x in twin], {"twin": True}))
    return chunks


class TestVectorRanking:
    async def test_ranking_equals_brute_force(self, backend: StorageBackendProtocol) -> None:
        """Results are the brute-force cosine top-k (ties by id), score == vector_score ==
        (1 + cos) / 2, ranks 1-based, keyword fields None; top_k beyond the namespace
        returns every chunk with an embedding. If this fails, check the distance-to-score
        conversion (cosine distance d gives 1 - d / 2) and the index's recall settings."""
        chunks = _vector_corpus()
        await backend.upsert(chunks)
        gen = rng(22)
        with_vectors = sum(c.embedding is not None for c in chunks)
        queries = [random_vector(gen) for _ in range(5)] + [axis(3), list(chunks[0].embedding
                                                                          or [])]
        for n, query in enumerate(queries):
            for top_k in (1, 5, 10, 500):
                results = await backend.vector_search(query, top_k=top_k)
                oracle.assert_vector_results(f"query {n} top_k={top_k}", results, chunks,
                                             query, top_k)
            assert len(await backend.vector_search(query, top_k=500)) == with_vectors

    async def test_score_definition(self, backend: StorageBackendProtocol) -> None:
        """Same direction scores 1, orthogonal 0.5, opposite 0; the query's length does not
        matter. If this fails, check the score is (1 + cosine) / 2 and not 1 - distance or
        a raw inner product."""
        await backend.upsert([
            Chunk("same", "x", axis(0, 3.0)),
            Chunk("orthogonal", "x", axis(1)),
            Chunk("opposite", "x", axis(0, -0.25)),
        ])
        for query in (axis(0), axis(0, 100.0), axis(0, 1e-3)):
            results = await backend.vector_search(query, top_k=3)
            assert [r.id for r in results] == ["same", "orthogonal", "opposite"]
            for r, want in zip(results, (1.0, 0.5, 0.0), strict=True):
                assert math.isclose(r.score, want, abs_tol=1e-6), (r.id, r.score)
                assert r.vector_score == r.score
                assert r.vector_rank == r.rank
        assert [r.id for r in await backend.vector_search(tuple(axis(1)), top_k=1)] == [
            "orthogonal"]

    async def test_exact_ties_broken_by_id(self, backend: StorageBackendProtocol) -> None:
        """Chunks with the same direction tie exactly and come in id order, also at the
        top-k cut (the smallest ids are kept). If this fails, check results are sorted by
        (-score, id) after the engine's search, and that enough candidates are fetched to
        settle a tie at the cut."""
        chunks = _vector_corpus()
        await backend.upsert(chunks)
        twin = list(chunks[-1].embedding or [])
        for top_k in (1, 3, 6):
            results = await backend.vector_search(twin, top_k=top_k)
            assert [r.id for r in results] == ["w0", "w1", "w2", "w3", "w4", "w5"][:top_k]
        results = await backend.vector_search(twin, top_k=4, filters={"twin": True})
        assert [r.id for r in results] == ["w0", "w1", "w2", "w3"]

    async def test_chunks_without_embedding(self, backend: StorageBackendProtocol) -> None:
        """A chunk without embedding is skipped by vector search but counted, listed and
        found by keyword search. If this fails, check how the backend stores a missing
        vector (no zero-vector placeholder that a search could return)."""
        await backend.upsert([
            Chunk("bare", "lonely glacier", None, {"k": 1}),
            Chunk("vec", "apple", axis(0), {"k": 1}),
            Chunk("vec2", "stone", axis(1)),
        ])
        assert [r.id for r in await backend.vector_search(axis(0), top_k=10)] == ["vec",
                                                                                 "vec2"]
        assert [r.id for r in await backend.vector_search(
            axis(0), top_k=10, filters={"k": 1})] == ["vec"]
        assert await backend.count() == 3
        assert await backend.count(filters={"k": 1}) == 2
        assert [c.id for c in await backend.get()] == ["bare", "vec", "vec2"]
        assert [r.id for r in await backend.keyword_search("glacier")] == ["bare"]
        await backend.upsert([Chunk("only", "x", None)], namespace="bare-only")
        assert await backend.vector_search(axis(0), namespace="bare-only") == []

    async def test_empty_namespace(self, backend: StorageBackendProtocol) -> None:
        """Searching a namespace with no chunks returns [] (not an error).
        If this fails, check the backend handles a missing collection/partition."""
        assert await backend.vector_search(axis(0)) == []
        await backend.upsert([Chunk("a", "x", axis(0))], namespace="other")
        assert await backend.vector_search(axis(0)) == []


class TestVectorQueryRefused:
    async def test_bad_query_vectors(self, backend: StorageBackendProtocol) -> None:
        """A query of the wrong dimension is a DimensionMismatchError; NaN, inf or all-zero
        is an InvalidInputError; top_k beyond capabilities.max_top_k or below 1 is refused.
        If this fails, check the query is validated before it reaches the engine."""
        await backend.upsert([Chunk("a", "x", axis(0))])
        for query in ([1.0] * (DIM - 1), [1.0] * (DIM + 1), [1.0]):
            with pytest.raises(DimensionMismatchError):
                await backend.vector_search(query)
        for bad in (math.nan, math.inf, -math.inf):
            with pytest.raises(InvalidInputError):
                await backend.vector_search([*axis(0)[:-1], bad])
        with pytest.raises(InvalidInputError):
            await backend.vector_search([0.0] * DIM)
        for top_k in (-1, backend.capabilities.max_top_k + 1):
            with pytest.raises(InvalidInputError):
                await backend.vector_search(axis(0), top_k=top_k)
        assert len(await backend.vector_search(axis(0),
                                               top_k=backend.capabilities.max_top_k)) == 1
