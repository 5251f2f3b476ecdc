"""Every protocol method of PGBackend against a real server (the contract suite checks the
semantics in depth on every backend; these pin PostgreSQL specifics)."""

from __future__ import annotations

import asyncpg
import pytest

from agent_brain import Chunk, create_backend
from agent_brain.backends.postgres import PGBackend
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import BackendUnavailableError, InvalidInputError
from agent_brain.types import NamespaceInfo
from tests.postgres.conftest import DIM

pytestmark = pytest.mark.postgres


def vec(i: int, scale: float = 1.0) -> list[float]:
    v = [0.05] * DIM
    v[i % DIM] = scale
    return v


async def test_lifecycle_and_capabilities(pg_config: AgentBrainConfig) -> None:
    """create_backend builds a PGBackend; initialize is idempotent; calls on a closed
    backend raise BackendUnavailableError; close is idempotent."""
    backend = create_backend(pg_config)
    assert isinstance(backend, PGBackend)
    caps = backend.capabilities
    assert (caps.name, caps.persistent, caps.transactional_writes, caps.concurrent_processes,
            caps.vector_index) == ("postgres", True, True, True, "hnsw")
    with pytest.raises(BackendUnavailableError):
        await backend.count()
    async with backend:
        await backend.initialize()
        assert await backend.count() == 0
    await backend.close()
    with pytest.raises(BackendUnavailableError, match="not open"):
        await backend.namespaces()


async def test_crud_round_trip(backend: PGBackend) -> None:
    chunks = [
        Chunk("b", "Beta text about rivers", vec(1), {"n": 1, "f": 1.0, "t": True, "s": "1"}),
        Chunk("a", "Alpha text about mountains", vec(0), {"n": 2}),
        Chunk("c", "Gamma without a vector", None, {}),
    ]
    assert await backend.upsert(chunks) == 3
    assert await backend.upsert([]) == 0
    assert await backend.count() == 3
    assert await backend.namespaces() == ["default"]
    listed = await backend.get()
    assert [c.id for c in listed] == ["a", "b", "c"]
    b = listed[1]
    assert b.metadata == {"n": 1, "f": 1.0, "t": True, "s": "1"}
    assert [type(b.metadata[k]) for k in ("n", "f", "t", "s")] == [int, float, bool, str]
    assert b.embedding is not None
    assert [round(x, 6) for x in b.embedding] == vec(1)
    assert listed[2].embedding is None
    got = await backend.get(ids=["c", "zz", "a", "c"], include_embeddings=False)
    assert [c.id for c in got] == ["c", "a"]
    assert all(c.embedding is None for c in got)
    assert [c.id for c in await backend.get(ids=["c", "a", "b"], limit=1, offset=1)] == ["a"]
    assert await backend.get(ids=[]) == []
    assert [c.id for c in await backend.get(limit=2, offset=1)] == ["b", "c"]
    assert await backend.get(limit=0) == []
    assert [c.id for c in await backend.get(filters={"n": {"$gte": 1}})] == ["a", "b"]
    assert [c.id for c in await backend.get(ids=["a", "b"], filters={"n": 1})] == ["b"]
    assert await backend.count(filters={"t": True}) == 1

    await backend.upsert([Chunk("b", "Beta replaced", vec(2), {"new": "x"})])
    (b2,) = await backend.get(ids=["b"])
    assert (b2.text, b2.metadata) == ("Beta replaced", {"new": "x"})

    with pytest.raises(InvalidInputError, match="reset"):
        await backend.delete()
    assert await backend.delete(ids=[]) == 0
    assert await backend.delete(ids=["zz"]) == 0
    assert await backend.delete(ids=["a", "b"], filters={"n": 2}) == 1
    assert await backend.delete(filters={"new": "x"}) == 1
    assert await backend.count() == 1
    assert await backend.delete(ids=["c"], namespace="other") == 0


async def test_metadata_types_survive(backend: PGBackend) -> None:
    """jsonb keeps 1, 1.0, True and "1" apart, and floats stay floats even where their
    repr has an exponent (jsonb numeric would print 1e16 as an integer)."""
    metadata = {
        "int": 1, "float": 1.0, "bool": True, "str": "1", "big_float": 1e16,
        "huge_float": 1.5e300, "tiny": 5e-324, "neg": -2.5e-7, "max_int": 2**63 - 1,
        "min_int": -(2**63), "unicode": "héllo ✓ 𝄞", "quote": 'a"b\\c', "zero": 0.0,
        "2p60": float(2**60),
    }
    await backend.upsert([Chunk("m", "metadata", vec(0), metadata)])
    (got,) = await backend.get(ids=["m"])
    assert got.metadata == metadata
    assert {k: type(v) for k, v in got.metadata.items()} == {
        k: type(v) for k, v in metadata.items()
    }
    assert await backend.count(filters={"big_float": 1e16}) == 1
    assert await backend.count(filters={"2p60": {"$gt": 2**60 - 1}}) == 1
    assert await backend.count(filters={"2p60": {"$gt": 2**60}}) == 0
    assert await backend.count(filters={"int": True}) == 0
    assert await backend.count(filters={"int": 1.0}) == 1
    assert await backend.count(filters={"str": 1}) == 0


async def test_listing_is_code_point_ordered(backend: PGBackend) -> None:
    """Ids sort as Python sorts str (COLLATE "C"), whatever the database collation."""
    ids = ["b", "B", "a", "_", "é", "Z", "a-1", "a_1", "10", "9", "ä", "𝄞"]
    await backend.upsert([Chunk(i, f"text {n}", None, {}) for n, i in enumerate(ids)])
    assert [c.id for c in await backend.get()] == sorted(ids)
    pages = [c.id for off in range(0, 12, 5) for c in await backend.get(limit=5, offset=off)]
    assert pages == sorted(ids)


async def test_namespaces_are_isolated(backend: PGBackend) -> None:
    for ns in ("a", "a-b", "a_b"):
        await backend.upsert([Chunk("x", f"shared id in {ns}", vec(0), {"ns": ns})],
                             namespace=ns)
    assert await backend.namespaces() == ["a", "a-b", "a_b"]
    assert [c.metadata["ns"] for c in await backend.get(namespace="a-b")] == ["a-b"]
    await backend.reset("a-b")
    assert await backend.namespaces() == ["a", "a_b"]
    assert await backend.count(namespace="a-b") == 0
    assert await backend.get(namespace="a-b") == []
    assert await backend.vector_search(vec(0), namespace="a-b") == []
    assert await backend.keyword_search("shared", namespace="a-b") == []
    await backend.reset("never-written")
    await backend.upsert([Chunk("y", "again", vec(1), {})], namespace="a-b")
    assert [c.id for c in await backend.get(namespace="a-b")] == ["y"]
    with pytest.raises(InvalidInputError, match="namespace"):
        await backend.count(namespace="bad name")


async def test_emptied_namespace_is_hidden_then_rebuilt(backend: PGBackend) -> None:
    """Deleting every chunk hides the namespace; the next write rebuilds its partitions
    (the bulk path) with fresh statistics."""
    await backend.upsert([Chunk("x", "apple pie", vec(0), {})], namespace="n")
    assert await backend.delete(ids=["x"], namespace="n") == 1
    assert await backend.namespaces() == []
    assert await backend.keyword_search("apple", namespace="n") == []
    await backend.upsert([Chunk("y", "apple tart", vec(1), {})], namespace="n")
    hits = await backend.keyword_search("apple", namespace="n")
    assert [h.id for h in hits] == ["y"]


async def test_searches_and_results(backend: PGBackend) -> None:
    await backend.upsert([
        Chunk("near", "the river bank", vec(0), {"k": "a"}),
        Chunk("far", "mountain river", vec(3), {"k": "b"}),
        Chunk("novec", "river river river", None, {"k": "a"}),
        *[Chunk(f"z{i}", f"filler number {i}", None, {"k": "z"}) for i in range(4)],
    ])
    results = await backend.vector_search(vec(0), top_k=5)
    assert [r.id for r in results] == ["near", "far"]  # chunks without vectors are skipped
    top = results[0]
    assert top.rank == top.vector_rank == 1
    assert top.score == top.vector_score
    assert top.keyword_score is None
    assert top.keyword_rank is None
    assert top.score == pytest.approx(1.0, abs=1e-6)
    assert 0.0 <= results[1].score < 1.0
    kw = await backend.keyword_search("river", top_k=5)
    assert next(r.id for r in kw) == "novec"
    assert {r.id for r in kw} == {"near", "far", "novec"}
    assert all(r.vector_score is None and r.keyword_score == r.score for r in kw)
    assert [r.id for r in await backend.keyword_search("river", filters={"k": "b"})] == ["far"]
    assert [r.id for r in await backend.vector_search(vec(0), filters={"k": "a"})] == ["near"]


async def test_info(backend: PGBackend, pg_config: AgentBrainConfig) -> None:
    empty = await backend.info()
    assert empty.embedding_model is None
    assert empty.namespaces == ()
    await backend.upsert([Chunk("a", "x", vec(0), {}), Chunk("b", "y", None, {})], "ns")
    info = await backend.info()
    assert info.backend == "postgres"
    assert (info.embedding_model, info.embedding_dimension) == ("test-model", DIM)
    assert (info.distance, info.text_search_config) == ("cosine", "english")
    assert info.namespaces == (NamespaceInfo("ns", 2, 1),)
    assert info.location.startswith("postgresql://postgres@/")  # the ":" of the password is gone
    settings = info.settings
    assert settings["schema_revision"] == "0002"
    assert settings["pgvector_version"]
    assert settings["server_version"]
    assert settings["vector_index"] == "hnsw(m=16,ef_construction=64)"
    assert settings["indexes"]["chunks_tsv"]
    assert settings["indexes"]["chunks_metadata"]


async def test_pg_limits_become_invalid_input(backend: PGBackend, sql: asyncpg.Connection
                                              ) -> None:
    """A text whose tsvector exceeds PostgreSQL's 1 MB limit is refused as invalid input,
    and nothing of the batch is written."""
    import random

    rng = random.Random(1)
    words = " ".join("".join(rng.choice("abcdefghij") for _ in range(12)) + str(i)
                     for i in range(90_000))
    with pytest.raises(InvalidInputError, match="too long for tsvector"):
        await backend.upsert([Chunk("ok", "fine", vec(0), {}), Chunk("big", words, None, {})])
    assert await backend.count() == 0
    assert await sql.fetchval("SELECT count(*) FROM agent_brain.namespaces") == 0


async def test_lone_surrogates_are_refused_before_writing(backend: PGBackend) -> None:
    with pytest.raises(InvalidInputError, match="surrogate"):
        await backend.upsert([Chunk("a", "ok", None, {}), Chunk("b", "bad \ud800", None, {})])
    with pytest.raises(InvalidInputError, match="surrogate"):
        await backend.upsert([Chunk("a", "ok", None, {"k": "\udfff"})])
    assert await backend.count() == 0
    await backend.upsert([Chunk("a", "fine text", None, {"k": "v"})])
    assert await backend.count(filters={"k": "\ud800"}) == 0
    assert await backend.count(filters={"k": {"$ne": "\ud800"}}) == 1
    assert await backend.count(filters={"k": {"$lt": "v\ud800"}}) == 1
    assert await backend.count(filters={"k": {"$gt": "u\ud800"}}) == 1
    assert await backend.keyword_search("fine \ud800 text") != []
