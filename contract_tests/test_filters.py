"""The filter language: every operator, missing keys, strict types, hundreds of systematic
and random filters through count, get, delete, vector_search and keyword_search, and the
guarantee that a selective filter never shortens a search."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from agent_brain import Chunk, StorageBackendProtocol
from agent_brain.config import AgentBrainConfig
from contract_tests import oracle
from contract_tests.data import (
    axis,
    filter_corpus,
    random_filters,
    random_vector,
    rng,
    selective_corpus,
    systematic_filters,
)

RANDOM_FILTERS = random_filters(seed=20240601, count=160)
ALL_FILTERS = systematic_filters() + RANDOM_FILTERS


class TestStrictTypesAndMissingKeys:
    """Hand-written expectations taken straight from the protocol's text (they also pin
    the oracle the other tests rely on)."""

    CHUNKS = (
        Chunk("t_int", "apple", axis(0), {"v": 1}),
        Chunk("t_float", "apple", axis(1), {"v": 1.0}),
        Chunk("t_bool", "apple", axis(2), {"v": True}),
        Chunk("t_str", "apple", axis(3), {"v": "1"}),
        Chunk("t_zero", "apple", axis(4), {"v": 0}),
        Chunk("t_false", "apple", axis(5), {"v": False}),
        Chunk("u_none", "apple", axis(6), {}),
        Chunk("u_d1", "apple", axis(7), {"d": "2024-01-15"}),
        Chunk("u_d2", "apple", axis(0), {"d": "2023-12-31"}),
        Chunk("u_e", "apple", axis(1), {"d": "é"}),
        Chunk("u_z", "apple", axis(2), {"d": "z"}),
        Chunk("u_Z", "apple", axis(3), {"d": "Z"}),
    )
    WITHOUT_V = frozenset({"u_none", "u_d1", "u_d2", "u_e", "u_z", "u_Z"})
    CASES: tuple[tuple[Any, frozenset[str] | set[str]], ...] = (
        ({"v": 1}, {"t_int", "t_float"}),
        ({"v": 1.0}, {"t_int", "t_float"}),
        ({"v": {"$eq": True}}, {"t_bool"}),
        ({"v": "1"}, {"t_str"}),
        ({"v": 0}, {"t_zero"}),
        ({"v": False}, {"t_false"}),
        ({"v": {"$ne": 1}}, {"t_bool", "t_str", "t_zero", "t_false"} | WITHOUT_V),
        ({"v": {"$gt": 0}}, {"t_int", "t_float"}),
        ({"v": {"$gte": 0}}, {"t_int", "t_float", "t_zero"}),
        ({"v": {"$lt": 1}}, {"t_zero"}),
        ({"v": {"$lt": "2"}}, {"t_str"}),
        ({"v": {"$in": [1]}}, {"t_int", "t_float"}),
        ({"v": {"$in": [True, "1"]}}, {"t_bool", "t_str"}),
        ({"v": {"$in": []}}, set()),
        ({"v": {"$nin": []}}, {c.id for c in CHUNKS}),
        ({"v": {"$nin": [1, True]}}, {"t_str", "t_zero", "t_false"} | WITHOUT_V),
        ({"v": {"$exists": False}}, WITHOUT_V),
        ({"v": {"$exists": True}}, {c.id for c in CHUNKS} - WITHOUT_V),
        ({"$not": {"v": {"$gt": 0}}}, {c.id for c in CHUNKS} - {"t_int", "t_float"}),
        ({"$not": {"v": 1}}, {c.id for c in CHUNKS} - {"t_int", "t_float"}),
        ({"d": {"$gte": "2024-01-01"}}, {"u_d1", "u_e", "u_z", "u_Z"}),
        ({"d": {"$lt": "a"}}, {"u_d1", "u_d2", "u_Z"}),
        ({"d": {"$gt": "z"}}, {"u_e"}),
        ({"d": {"$gt": 5}}, set()),
        ({"v": {"$gt": "0"}}, {"t_str"}),
        ({"v": {"$gte": 0, "$lt": 1}}, {"t_zero"}),
        ({"$and": [{"v": {"$gte": 0}}], "d": {"$exists": False}}, {"t_int", "t_float",
                                                                     "t_zero"}),
        ({"$or": [{"v": True}, {"d": "z"}]}, {"t_bool", "u_z"}),
    )

    async def test_spec_examples(self, backend: StorageBackendProtocol) -> None:
        """1 == 1.0, True != 1, "1" != 1; ranges within a kind in code-point order; the
        missing-key rule ($ne, $nin, $exists: false, $not match a chunk lacking the key).
        If this fails, check type-tagging of stored values and that $ne/$nin/$not are
        written as NOT(...) over a present-and-equal test, not as SQL `<>` on NULLs."""
        await backend.upsert(list(self.CHUNKS))
        failures = oracle.Failures(len(self.CASES))
        for filters, want in self.CASES:
            assert {c.id for c in oracle.matching(self.CHUNKS, filters)} == want, filters

            async def run(filters: Any = filters, want: Set[str] = want) -> None:
                got = {c.id for c in await backend.get(filters=filters)}
                assert got == want, f"got {sorted(got)}, expected {sorted(want)}"
                assert await backend.count(filters=filters) == len(want)

            await failures.check(repr(filters), run)
        failures.assert_none()


class TestFilterLanguage:
    """Hundreds of filters (a systematic table plus seeded random nests) against the
    oracle, over a corpus rich in edge cases (see data.filter_corpus)."""

    async def test_count_and_listing(self, backend: StorageBackendProtocol) -> None:
        """count(filters) and get(filters) equal the oracle for every filter.
        If this fails, look at the first failing filter: the compiler of that operator (or
        of the missing-key / strict-type rule) disagrees with agent_brain.filters.evaluate."""
        chunks = filter_corpus()
        await backend.upsert(chunks)
        failures = oracle.Failures(len(ALL_FILTERS))
        for filters in ALL_FILTERS:
            expected = oracle.listing(chunks, filters)

            async def run(filters: Any = filters, expected: list[str] = expected) -> None:
                count = await backend.count(filters=filters)
                assert count == len(expected), f"count {count}, expected {len(expected)}"
                got = [c.id for c in await backend.get(filters=filters,
                                                       include_embeddings=False)]
                missing = sorted(set(expected) - set(got))
                extra = sorted(set(got) - set(expected))
                assert got == expected, f"missing {missing}, extra {extra}"

            await failures.check(repr(filters), run)
        failures.assert_none()

    async def test_ids_with_filters(self, backend: StorageBackendProtocol) -> None:
        """get(ids, filters) is the intersection, in ids order, for many filters.
        If this fails, check the ids+filters path of get (it may skip the exact filter)."""
        chunks = filter_corpus()
        await backend.upsert(chunks)
        by_id = {c.id: c for c in chunks}
        ids = [f"m{i:02d}" for i in (50, 3, 17, 8, 41, 22, 9, 0, 36, 29, 14, 45, 99)]
        filters_list = ALL_FILTERS[::4]
        failures = oracle.Failures(len(filters_list))
        for filters in filters_list:
            want = [i for i in ids if i in by_id and oracle.matching([by_id[i]], filters)]

            async def run(filters: Any = filters, want: list[str] = want) -> None:
                got = [c.id for c in await backend.get(ids, filters=filters)]
                assert got == want, f"got {got}, expected {want}"

            await failures.check(repr(filters), run)
        failures.assert_none()

    async def test_searches(self, backend: StorageBackendProtocol,
                            store_config: AgentBrainConfig) -> None:
        """vector_search and keyword_search with a filter return the oracle's top-k among
        the matching chunks. If this fails, check the search path applies the same filter
        compiler as count/get, and before the top-k cut."""
        chunks = filter_corpus()
        await backend.upsert(chunks)
        kw = oracle.KeywordOracle(chunks, store_config.keyword)
        query_vector = random_vector(rng(8))
        filters_list = ALL_FILTERS[::2]
        failures = oracle.Failures(len(filters_list))
        for n, filters in enumerate(filters_list):
            allowed = oracle.matching(chunks, filters)
            top_k = (7, 3, 60)[n % 3]

            async def run(filters: Any = filters, allowed: list[Chunk] = allowed,
                          top_k: int = top_k) -> None:
                results = await backend.vector_search(query_vector, top_k, filters=filters)
                oracle.assert_vector_results("vector", results, allowed, query_vector, top_k)
                results = await backend.keyword_search("apple river", top_k, filters=filters)
                oracle.assert_keyword_results("keyword", results, kw, allowed, "apple river",
                                              top_k)

            await failures.check(repr(filters), run)
        failures.assert_none()

    async def test_delete(self, backend: StorageBackendProtocol) -> None:
        """delete(filters) removes exactly the oracle's matches and returns their number;
        delete(ids, filters) removes the ids that match. If this fails, check the delete
        path uses the exact filter (not only the engine's approximation of it)."""
        chunks = filter_corpus()
        await backend.upsert(chunks)
        all_ids = [c.id for c in chunks]
        by_id = {c.id: c for c in chunks}
        filters_list = [f for f in ALL_FILTERS[5::17] if f] + RANDOM_FILTERS[:6]
        failures = oracle.Failures(len(filters_list))
        for n, filters in enumerate(filters_list):
            ids = all_ids[n % 5::3] if n % 2 else None
            doomed = oracle.listing(chunks if ids is None else [by_id[i] for i in ids], filters)

            async def run(filters: Any = filters, ids: list[str] | None = ids,
                          doomed: list[str] = doomed) -> None:
                try:
                    deleted = await backend.delete(ids=ids, filters=filters)
                    left = [c.id for c in await backend.get(include_embeddings=False)]
                    assert deleted == len(doomed), f"deleted {deleted}, expected {len(doomed)}"
                    assert left == sorted(set(all_ids) - set(doomed)), (
                        f"wrong survivors; expected to delete {doomed} (ids={ids})"
                    )
                finally:
                    await backend.upsert(chunks)

            await failures.check(repr(filters), run)
        failures.assert_none()


class TestSelectiveFilters:
    """A filter that narrows a search never yields fewer than min(top_k, matching)."""

    FILTERS: tuple[Any, ...] = (
        {"one": True},
        {"few": True},
        {"tenth": True},
        {"lonely": True},
        {"grp": {"$in": [3]}},
        {"$and": [{"tenth": True}, {"grp": {"$gte": 3}}]},
        {"$not": {"grp": {"$lt": 9}}},
        {"few": {"$ne": True}},
        {"$or": [{"one": True}, {"few": True}]},
    )

    async def test_vector_search_is_never_short(self, backend: StorageBackendProtocol) -> None:
        """With 1, 5, 10% or most chunks matching (far from the query), vector_search returns
        exactly min(top_k, matching chunks with an embedding), and the brute-force top-k.
        If this fails, check that filtering is not applied after a plain top-k scan (HNSW
        post-filtering): pre-filter, over-fetch until enough, or fall back to exact search."""
        chunks = selective_corpus()
        await backend.upsert(chunks)
        failures = oracle.Failures(len(self.FILTERS) * 4)
        for filters in self.FILTERS:
            allowed = oracle.matching(chunks, filters)
            with_vectors = [c for c in allowed if c.embedding is not None]
            for top_k in (1, 3, 10, 50):
                async def run(filters: Any = filters, allowed: list[Chunk] = allowed,
                              top_k: int = top_k, n: int = len(with_vectors)) -> None:
                    results = await backend.vector_search(axis(0), top_k, filters=filters)
                    assert len(results) == min(top_k, n), (
                        f"{len(results)} results, expected min({top_k}, {n})"
                    )
                    oracle.assert_vector_results("vector", results, allowed, axis(0), top_k)

                await failures.check(f"{filters!r} top_k={top_k}", run)
        failures.assert_none()

    async def test_keyword_search_is_never_short(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """With selective filters whose matches rank low, keyword_search returns exactly
        min(top_k, matching chunks holding a query term), the oracle's top-k.
        If this fails, check the keyword path filters candidates before cutting at top_k."""
        chunks = selective_corpus()
        await backend.upsert(chunks)
        kw = oracle.KeywordOracle(chunks, store_config.keyword)
        failures = oracle.Failures(len(self.FILTERS) * 4)
        for filters in self.FILTERS:
            allowed = oracle.matching(chunks, filters)
            hits = [c for c in allowed if "river" in oracle.terms(c.text)]
            for top_k in (1, 3, 10, 50):
                async def run(filters: Any = filters, allowed: list[Chunk] = allowed,
                              top_k: int = top_k, n: int = len(hits)) -> None:
                    results = await backend.keyword_search("river", top_k, filters=filters)
                    assert len(results) == min(top_k, n), (
                        f"{len(results)} results, expected min({top_k}, {n})"
                    )
                    oracle.assert_keyword_results("keyword", results, kw, allowed, "river",
                                                  top_k)

                await failures.check(f"{filters!r} top_k={top_k}", run)
        failures.assert_none()
