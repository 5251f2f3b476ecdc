"""delete(), count(), namespaces() and reset(): counts returned, the delete guards, emptied
namespaces disappearing, and searches that follow deletes and resets."""

from __future__ import annotations

from agent_brain import Chunk, StorageBackendProtocol
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import InvalidInputError
from contract_tests import oracle
from contract_tests.data import filter_corpus, keyword_corpus, random_vector, rng


class TestDelete:
    async def test_delete_by_ids(self, backend: StorageBackendProtocol) -> None:
        """delete(ids) returns how many existed and were deleted: missing ids are skipped,
        a repeated id counts once, ids of another namespace are untouched.
        If this fails, check the return value counts rows actually removed."""
        chunks = filter_corpus()
        await backend.upsert(chunks)
        await backend.upsert(chunks[:5], namespace="other")
        assert await backend.delete(ids=["m00", "m01", "m01", "nope", "m02"]) == 3
        assert await backend.delete(ids=["m00", "nope"]) == 0
        assert await backend.count() == len(chunks) - 3
        assert await backend.get(["m00", "m01", "m02"]) == []
        assert await backend.count(namespace="other") == 5

    async def test_guards(self, backend: StorageBackendProtocol) -> None:
        """delete() with neither ids nor filters is an InvalidInputError (use reset), and so
        is an empty filter dict, which means "no filter"; delete(ids=[]) deletes nothing and
        returns 0, even with a filter. If this fails, check the guard treats {} like None
        and that an empty id list is not read as "no id restriction"."""
        chunks = filter_corpus()
        await backend.upsert(chunks)
        before = await oracle.snapshot(backend)
        await oracle.refused(InvalidInputError, "delete()", lambda: backend.delete())
        await oracle.refused(InvalidInputError, "delete(ids=None, filters=None)",
                             lambda: backend.delete(ids=None, filters=None))
        await oracle.refused(InvalidInputError, "delete(filters={})",
                             lambda: backend.delete(filters={}))
        assert await backend.delete(ids=[]) == 0
        assert await backend.delete(ids=[], filters={"tag": "red"}) == 0
        assert await backend.delete(ids=[], namespace="empty") == 0
        assert await oracle.snapshot(backend) == before

    async def test_delete_by_filter_and_intersection(self, backend: StorageBackendProtocol
                                                     ) -> None:
        """delete(filters) deletes the matches; delete(ids, filters) the ids that match.
        If this fails, check ids and filters are ANDed in delete."""
        chunks = filter_corpus()
        await backend.upsert(chunks)
        ids = ["m00", "m01", "m02", "m03", "m04", "m05", "m06"]
        by_id = {c.id: c for c in chunks}
        doomed = oracle.listing([by_id[i] for i in ids], {"tag": "red"})
        assert await backend.delete(ids=ids, filters={"tag": "red"}) == len(doomed) == 3
        remaining = [c for c in chunks if c.id not in doomed]
        doomed2 = oracle.listing(remaining, {"n": {"$gt": 1}})
        assert await backend.delete(filters={"n": {"$gt": 1}}) == len(doomed2)
        remaining = [c for c in remaining if c.id not in doomed2]
        assert [c.id for c in await backend.get()] == sorted(c.id for c in remaining)
        assert await backend.delete(filters={"n": {"$gt": 1}}) == 0

    async def test_searches_follow_deletes(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """Deleted chunks are never returned, and keyword scores are BM25 over what is
        left. If this fails, check delete also removes keyword postings and statistics."""
        chunks = keyword_corpus(count=50)
        await backend.upsert(chunks)
        gone = await backend.delete(filters={"even": True})
        assert gone == 25
        left = [c for c in chunks if not c.metadata["even"]]
        kw = oracle.KeywordOracle(left, store_config.keyword)
        for query in ("apple river", "stone", "comet harbor"):
            results = await backend.keyword_search(query, top_k=50)
            oracle.assert_keyword_results(query, results, kw, left, query, 50)
        query_vector = random_vector(rng(6))
        results = await backend.vector_search(query_vector, top_k=50)
        oracle.assert_vector_results("after delete", results, left, query_vector, 50)


class TestNamespacesAndReset:
    async def test_namespaces_sorted_and_emptied_ones_disappear(
        self, backend: StorageBackendProtocol
    ) -> None:
        """namespaces() lists names holding >= 1 chunk, sorted; one emptied by deletes
        disappears, and comes back (with fresh statistics) when written again.
        If this fails, check namespaces() is derived from stored chunks (not from a
        registry of names ever used)."""
        for name in ("zeta", "Alpha", "alpha", "beta-1", "beta_1"):
            await backend.upsert([Chunk("a", "apple"), Chunk("b", "river")], namespace=name)
        assert await backend.namespaces() == sorted(["zeta", "Alpha", "alpha", "beta-1",
                                                     "beta_1"])
        assert await backend.delete(ids=["a"], namespace="beta_1") == 1
        assert "beta_1" in await backend.namespaces()
        assert await backend.delete(ids=["b"], namespace="beta_1") == 1
        assert await backend.delete(filters={"x": {"$exists": False}}, namespace="zeta") == 2
        assert await backend.namespaces() == ["Alpha", "alpha", "beta-1"]
        assert await backend.count(namespace="zeta") == 0
        assert await backend.keyword_search("apple", namespace="zeta") == []
        await backend.upsert([Chunk("c", "stone")], namespace="zeta")
        assert await backend.namespaces() == ["Alpha", "alpha", "beta-1", "zeta"]
        assert [r.id for r in await backend.keyword_search("apple river stone",
                                                           namespace="zeta")] == ["c"]

    async def test_reset_one_namespace(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """reset(ns) removes that namespace's chunks and keyword statistics only; resetting
        an empty namespace is harmless. If this fails, check reset is scoped by namespace
        in the vector store, the keyword index and any statistics table."""
        chunks = keyword_corpus(count=31)
        for name in ("r", "r-1", "r_1", "R"):
            await backend.upsert(chunks, namespace=name)
        await backend.reset("r")
        await backend.reset("never-used")
        assert await backend.namespaces() == ["R", "r-1", "r_1"]
        for name in ("R", "r-1", "r_1"):
            assert await backend.count(namespace=name) == 31
        assert await backend.count(namespace="r") == 0
        fresh = keyword_corpus(seed=9, count=13)
        await backend.upsert(fresh, namespace="r")
        kw = oracle.KeywordOracle(fresh, store_config.keyword)
        for query in ("apple", "river stone"):
            results = await backend.keyword_search(query, top_k=30, namespace="r")
            oracle.assert_keyword_results(query, results, kw, fresh, query, 30)
        kw_other = oracle.KeywordOracle(chunks, store_config.keyword)
        results = await backend.keyword_search("apple", top_k=30, namespace="r_1")
        oracle.assert_keyword_results("r_1", results, kw_other, chunks, "apple", 30)

    async def test_count_with_filters(self, backend: StorageBackendProtocol) -> None:
        """count(filters) equals the oracle; count of an unknown namespace is 0.
        If this fails, check count uses the same filter compiler as get."""
        chunks = filter_corpus()
        await backend.upsert(chunks)
        assert await backend.count() == len(chunks)
        assert await backend.count(filters=None) == len(chunks)
        assert await backend.count(filters={}) == len(chunks)
        for filters in ({"tag": "red"}, {"n": {"$exists": False}}, {"v": {"$in": [1, "1"]}}):
            assert await backend.count(filters=filters) == len(oracle.matching(chunks, filters))
        assert await backend.count(namespace="nothing-here") == 0
