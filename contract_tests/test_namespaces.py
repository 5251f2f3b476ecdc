"""Namespaces: isolation of data and of BM25 statistics, look-alike names, ids repeated
across namespaces, valid and invalid names on every method."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from agent_brain import Chunk, HybridSearcher, StorageBackendProtocol
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import InvalidInputError
from contract_tests import oracle
from contract_tests.data import BAD_NAMESPACES, axis, keyword_corpus, random_vector, rng

LOOKALIKES = ("a", "a-b", "a_b", "A", "ab", "a_")


def _chunks_for(name: str) -> list[Chunk]:
    """The same ids in every namespace, with namespace-specific text, vector and metadata."""
    gen = rng(sum(map(ord, name)))
    n = 3 + len(name)
    return [
        Chunk(f"c{i}", f"apple {name.replace('-', ' ').replace('_', ' ')} river " * (i + 1),
              random_vector(gen), {"ns": name, "i": i})
        for i in range(n)
    ]


class TestIsolation:
    async def test_lookalike_names_never_see_each_other(
        self, backend: StorageBackendProtocol
    ) -> None:
        """`a`, `a-b`, `a_b`, `A`, `ab`, `a_` are unrelated: get, count, filters, searches,
        deletes and resets in one never touch another. If this fails, check namespace
        matching is exact and case-sensitive (no LIKE patterns where `_` is a wildcard, no
        case-folding collation, no name mangling that maps `-` and `_` together)."""
        data = {name: _chunks_for(name) for name in LOOKALIKES}
        for name, chunks in data.items():
            assert await backend.upsert(chunks, namespace=name) == len(chunks)
        assert await backend.namespaces() == sorted(LOOKALIKES)

        async def check_all() -> None:
            for name, chunks in data.items():
                assert await backend.count(namespace=name) == len(chunks), name
                got = await backend.get(namespace=name)
                assert [c.id for c in got] == sorted(c.id for c in chunks), name
                assert {c.metadata["ns"] for c in got} <= {name}, name
                assert await backend.count(namespace=name, filters={"ns": {"$ne": name}}) == 0
                results = await backend.vector_search(axis(0), top_k=50, namespace=name)
                oracle.assert_vector_results(name, results, chunks, axis(0), 50)
                hits = await backend.keyword_search("apple river", top_k=50, namespace=name)
                assert sorted(r.id for r in hits) == sorted(c.id for c in chunks), name
                assert {r.metadata["ns"] for r in hits} == {name}

        await check_all()
        assert await backend.delete(ids=["c0", "c1"], namespace="a_b") == 2
        data["a_b"] = data["a_b"][2:]
        assert await backend.delete(namespace="a-b", filters={"i": {"$gte": 3}}) == 3
        data["a-b"] = data["a-b"][:3]
        await backend.reset("A")
        del data["A"]
        assert await backend.count(namespace="A") == 0
        assert await backend.namespaces() == sorted(data)
        await check_all()

    async def test_bm25_statistics_are_per_namespace(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """Growing namespace B with many chunks holding the query terms changes no keyword
        score in A, and A's scores are BM25 over A alone. If this fails, check that document
        frequencies and average length are computed per namespace, not store-wide."""
        chunks_a = keyword_corpus(count=40)
        await backend.upsert(chunks_a, namespace="nsA")
        kw = oracle.KeywordOracle(chunks_a, store_config.keyword)
        queries = ("apple", "river stone", "comet harbor", "glacier lamp zebra")
        before = {}
        for query in queries:
            before[query] = await backend.keyword_search(query, top_k=40, namespace="nsA")
            oracle.assert_keyword_results(query, before[query], kw, chunks_a, query, 40)
        flood = [Chunk(f"f{i}", "apple river stone comet harbor glacier " + "zebra " * (i % 5),
                       None, {"flood": True}) for i in range(300)]
        for name in ("nsB", "nsa", "nsA-", "nsA_"):
            await backend.upsert(flood, namespace=name)
        for query in queries:
            after = await backend.keyword_search(query, top_k=40, namespace="nsA")
            assert [(r.id, r.score) for r in after] == [(r.id, r.score) for r in before[query]]
        assert await backend.count(namespace="nsA", filters={"flood": True}) == 0

    async def test_ids_repeat_independently(self, backend: StorageBackendProtocol) -> None:
        """The same id in two namespaces names two chunks: replacing or deleting one leaves
        the other as it was. If this fails, check the primary key is (namespace, id), not
        id alone, in the store and in the keyword index."""
        await backend.upsert([Chunk("same", "apple", axis(0), {"v": 1})], namespace="one")
        await backend.upsert([Chunk("same", "river", axis(1), {"v": 2})], namespace="two")
        await backend.upsert([Chunk("same", "stone", axis(2), {"v": 3})], namespace="one")
        (two,) = await backend.get(["same"], namespace="two")
        assert (two.text, two.metadata) == ("river", {"v": 2})
        oracle.assert_embedding("two", two.embedding, axis(1))
        assert await backend.delete(ids=["same"], namespace="one") == 1
        assert await backend.namespaces() == ["two"]
        assert [r.id for r in await backend.keyword_search("river", namespace="two")] == [
            "same"]
        assert await backend.keyword_search("stone", namespace="two") == []
        assert await backend.delete(ids=["same"], namespace="one") == 0


class TestNames:
    async def test_valid_edge_names(self, backend: StorageBackendProtocol) -> None:
        """Names of 1 to 63 characters from [A-Za-z0-9_-] are all valid, and namespaces()
        lists them sorted in code-point order. If this fails, check the name pattern and
        that derived storage names (collections, partitions) keep them distinct."""
        names = ["x" * 63, "_", "-", "0", "Z", "a", "A-Z_09", "--", "__", "a" * 62 + "b"]
        for name in names:
            await backend.upsert([Chunk("c", name, axis(0))], namespace=name)
        assert await backend.namespaces() == sorted(names)
        for name in names:
            (chunk,) = await backend.get(["c"], namespace=name)
            assert chunk.text == name

    async def test_bad_names_refused_everywhere(self, backend: StorageBackendProtocol) -> None:
        """A bad namespace (empty, 64 characters, space, '/', 'é', '.', None, 1, NUL) is an
        InvalidInputError on every method that takes one, and changes nothing.
        If this fails, check that method validates `namespace` before doing anything."""
        await backend.upsert([Chunk("c", "apple", axis(0))])
        before = await oracle.snapshot(backend)
        searcher = HybridSearcher(backend)
        calls: list[Callable[[Any], Awaitable[Any]]] = [
            lambda ns: backend.upsert([Chunk("c", "apple", axis(0))], namespace=ns),
            lambda ns: backend.vector_search(axis(0), namespace=ns),
            lambda ns: backend.keyword_search("apple", namespace=ns),
            lambda ns: backend.get(namespace=ns),
            lambda ns: backend.get(["c"], namespace=ns),
            lambda ns: backend.delete(ids=["c"], namespace=ns),
            lambda ns: backend.delete(namespace=ns, filters={"k": 1}),
            lambda ns: backend.count(namespace=ns),
            lambda ns: backend.reset(namespace=ns),
            lambda ns: searcher.search("apple", axis(0), namespace=ns),
        ]
        for name in BAD_NAMESPACES:
            for n, call in enumerate(calls):
                await oracle.refused(InvalidInputError, f"call #{n} with namespace {name!r}",
                                     lambda call=call, name=name: call(name))
                assert await backend.count() == 1, f"call #{n} with {name!r} changed the store"
        assert await oracle.snapshot(backend) == before
