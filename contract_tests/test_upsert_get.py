"""upsert() and get(): counts, id order, paging, ids+filters, embeddings and metadata
round-trips, and replacement semantics."""

from __future__ import annotations

from agent_brain import Chunk, StorageBackendProtocol
from agent_brain.config import AgentBrainConfig
from contract_tests import oracle
from contract_tests.data import BIG, axis, filter_corpus, random_vector, rng

ODD_IDS = ("B", "a", "_x", "-y", "Z9", "é", "a-b", "a_b", "ab", "a b", "10", "9", "ß", "a/b",
           "'; DROP TABLE chunks; --", "x" * 512, "日本", "Ab", "a.b", "%", "\\")


class TestUpsert:
    async def test_upsert_returns_number_written(self, backend: StorageBackendProtocol) -> None:
        """upsert returns len(chunks), also when replacing; an empty upsert writes nothing.
        If this fails, check the upsert return value (it counts chunks sent, not rows
        changed) and that an empty batch does not create the namespace."""
        assert await backend.upsert([]) == 0
        assert await backend.namespaces() == []
        chunks = [Chunk(f"c{i}", f"apple {i}", axis(i % 8)) for i in range(3)]
        assert await backend.upsert(chunks) == 3
        assert await backend.upsert(chunks[:2]) == 2
        assert await backend.count() == 3
        assert await backend.namespaces() == ["default"]

    async def test_round_trip_of_metadata_types_text_and_odd_ids(
        self, backend: StorageBackendProtocol
    ) -> None:
        """Types are kept exactly (1, 1.0, True, "1", 2**62, 2**53 + 1, "", unicode); -0.0
        comes back as 0.0; a metadata key named "id" is just metadata; unusual ids and texts
        round-trip. If this fails, check the metadata encoding (JSON numbers losing int/float,
        bools stored as ints, big ints through a double) and id quoting."""
        metas = [
            {"int": 1, "float": 1.0, "bool": True, "str": "1", "id": "someone-else"},
            {"big": BIG, "neg_big": -BIG, "odd": 2**53 + 1, "zero": -0.0, "tiny": 1e-300},
            {"empty": "", "unicode": "naïve 日本 😀", "false": False, "id": 7, "neg": -2.5},
            {},
            {"it's": "x", "dotted.key": 1, "space key": 0.1, "ключ": "значение", "x" * 200: 1},
        ]
        texts = ["", "naïve café 日本 😀 \t\n tab", "x" * 20_000, "'quotes' \"and\" \\", "ok"]
        chunks = [
            Chunk(cid, texts[i % len(texts)], axis(i % 8), metas[i % len(metas)])
            for i, cid in enumerate(ODD_IDS)
        ]
        assert await backend.upsert(chunks) == len(chunks)
        got = await backend.get(list(ODD_IDS))
        assert [c.id for c in got] == list(ODD_IDS)
        for sent, back in zip(chunks, got, strict=True):
            assert back.text == sent.text, sent.id
            assert oracle.typed(back.metadata) == oracle.typed(
                oracle.normalized_metadata(sent.metadata)), sent.id
        zero = next(c for c in got if "zero" in c.metadata).metadata["zero"]
        assert type(zero) is float
        assert zero == 0.0

    async def test_embeddings_round_trip_as_float32(self, backend: StorageBackendProtocol
                                                    ) -> None:
        """Embeddings come back as the float32 rounding of what was sent, bit for bit;
        None stays None; include_embeddings=False gives None for every chunk.
        If this fails, check the vector encoding (float16/float64 drift, normalisation of
        stored vectors — the store must keep the vector, not its unit version)."""
        gen = rng(3)
        chunks = [
            Chunk(f"e{i}", "apple", None if i % 4 == 1 else
                  [x * (10 ** (i % 3)) for x in random_vector(gen)])
            for i in range(12)
        ]
        await backend.upsert(chunks)
        for got in (await backend.get([c.id for c in chunks]), await backend.get()):
            by_id = {c.id: c for c in got}
            for c in chunks:
                oracle.assert_embedding(c.id, by_id[c.id].embedding, c.embedding)
        for got in (await backend.get(include_embeddings=False),
                    await backend.get(["e0", "e1"], include_embeddings=False),
                    await backend.get(filters={"$not": {"x": 1}}, include_embeddings=False)):
            assert got
            assert all(c.embedding is None for c in got)

    async def test_replace_takes_new_text_embedding_and_metadata(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """A replaced chunk takes the new text, embedding and metadata entirely: stale keys
        are gone, old words no longer find it, new ones do, BM25 statistics and vector
        results follow. If this fails, check upsert deletes the old keyword postings /
        metadata rows before writing (a merge keeps stale keys)."""
        gen = rng(11)
        first = [
            Chunk(f"r{i}", f"apple river {'stone ' * i}", random_vector(gen),
                  {"old": i, "keep": "x", "kind": "old"})
            for i in range(11)
        ]
        await backend.upsert(first)
        second = [
            Chunk("r1", "melon zebra", None, {"kind": "new"}),
            Chunk("r2", "melon melon camel", axis(0, 3.0), {"kind": "new", "extra": 2.5}),
            Chunk("r3", "apple", axis(0), {}),
            Chunk("r9", "zebra", [*axis(1)[:7], 0.5], {"kind": "new"}),
        ]
        assert await backend.upsert(second) == 4
        state = {c.id: c for c in first}
        state.update({c.id: c for c in second})
        final = [state[k] for k in sorted(state)]
        got = await backend.get(sorted(state))
        for sent, back in zip(final, got, strict=True):
            assert back.text == sent.text
            assert oracle.typed(back.metadata) == oracle.typed(sent.metadata), back.id
            oracle.assert_embedding(back.id, back.embedding, sent.embedding)
        for filters in ({"old": {"$exists": True}}, {"keep": "x"}, {"kind": "old"},
                        {"kind": "new"}, {"extra": 2.5}, {"old": {"$exists": False}}):
            expected = oracle.listing(final, filters)
            assert await backend.count(filters=filters) == len(expected), filters
            assert [c.id for c in await backend.get(filters=filters)] == expected, filters
        assert oracle.listing(final, {"keep": "x"}) == ["r0", "r10", "r4", "r5", "r6", "r7",
                                                         "r8"]
        kw = oracle.KeywordOracle(final, store_config.keyword)
        for query in ("river", "melon", "zebra camel", "stone", "apple"):
            results = await backend.keyword_search(query, top_k=20)
            oracle.assert_keyword_results(query, results, kw, final, query, 20)
        for query in (axis(0), axis(1), random_vector(gen)):
            results = await backend.vector_search(query, top_k=20)
            oracle.assert_vector_results("after replace", results, final, query, 20)
        assert "r1" not in [r.id for r in await backend.vector_search(axis(0), top_k=20)]


class TestGet:
    async def test_get_by_ids(self, backend: StorageBackendProtocol) -> None:
        """get(ids) returns chunks in the order of ids, skips missing ids, returns a
        repeated id once; get(ids=[]) returns nothing. If this fails, check that results
        are re-ordered to follow `ids` (engines return storage order) and deduplicated."""
        chunks = filter_corpus()
        await backend.upsert(chunks)
        ids = ["m07", "m03", "nope", "m03", "m45", "m00", "m07", "m10"]
        got = await backend.get(ids)
        assert [c.id for c in got] == ["m07", "m03", "m45", "m00", "m10"]
        by_id = {c.id: c for c in chunks}
        for c in got:
            assert c.text == by_id[c.id].text
        assert await backend.get([]) == []
        assert await backend.get(["nope"]) == []
        assert await backend.get(["m01"], namespace="other") == []

    async def test_listing_is_by_id_in_code_point_order(self, backend: StorageBackendProtocol
                                                         ) -> None:
        """A listing (no ids) is ordered by id in code-point order ("B" < "a" < "é"), the
        order Python's sorted() gives. If this fails, check ORDER BY uses a binary
        collation (COLLATE "C") or that ids are sorted in Python, not in locale order."""
        await backend.upsert([Chunk(cid, "apple") for cid in ODD_IDS])
        assert [c.id for c in await backend.get()] == sorted(ODD_IDS)
        page = await backend.get(limit=5, offset=3)
        assert [c.id for c in page] == sorted(ODD_IDS)[3:8]

    async def test_paging_is_stable(self, backend: StorageBackendProtocol) -> None:
        """limit/offset pages concatenate to the full listing, with and without filters;
        limit=0 gives nothing, an offset past the end gives nothing.
        If this fails, check the listing has a total order (ORDER BY id) before LIMIT/OFFSET,
        and that filtering happens before paging, not after."""
        chunks = filter_corpus()
        await backend.upsert(chunks)
        for filters in (None, {"tag": "red"}, {"n": {"$ne": 1}}, {"$not": {"s": {"$gt": "a"}}}):
            expected = oracle.listing(chunks, filters)
            full = [c.id for c in await backend.get(filters=filters)]
            assert full == expected, filters
            for limit in (1, 4, 7, 50):
                pages: list[str] = []
                offset = 0
                while True:
                    page = await backend.get(filters=filters, limit=limit, offset=offset,
                                             include_embeddings=False)
                    assert len(page) <= limit
                    if not page:
                        break
                    pages += [c.id for c in page]
                    offset += limit
                assert pages == expected, (filters, limit)
            assert await backend.get(filters=filters, limit=0) == []
            assert await backend.get(filters=filters, offset=len(expected)) == []
            tail = await backend.get(filters=filters, offset=2)
            assert [c.id for c in tail] == expected[2:]

    async def test_ids_and_filters_intersect(self, backend: StorageBackendProtocol) -> None:
        """get(ids, filters) returns the given ids that match, in ids order.
        If this fails, check that ids and filters are ANDed (not ORed, and not one ignored)."""
        chunks = filter_corpus()
        await backend.upsert(chunks)
        by_id = {c.id: c for c in chunks}
        ids = ["m30", "m02", "m15", "m09", "m04", "zz", "m21", "m00", "m03"]
        for filters in ({"tag": "red"}, {"n": {"$gt": 1}}, {"v": 1}, {"ghost": 1},
                        {"$not": {"b": True}}):
            want = [i for i in ids if i in by_id and oracle.matching([by_id[i]], filters)]
            got = await backend.get(ids, filters=filters)
            assert [c.id for c in got] == want, filters
