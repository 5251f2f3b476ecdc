"""Bad input is refused with a typed error, before anything is written: the store is
exactly as it was (checked with a full snapshot before and after)."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from agent_brain import Chunk, HybridSearcher, StorageBackendProtocol
from agent_brain.errors import DimensionMismatchError, FilterError, InvalidInputError
from contract_tests import oracle
from contract_tests.data import DIM, MALFORMED_FILTERS, axis

GOOD = Chunk("new-good", "zebra fresh", axis(1), {"k": 1})
REPLACEMENT = Chunk("old-0", "zebra replaced", axis(2), {"k": 2})


def _nan_at(i: int) -> list[float]:
    vector = [0.5] * DIM
    vector[i] = math.nan
    return vector


BAD_CHUNKS: tuple[tuple[str, Any, type[Exception]], ...] = (
    ("embedding too short", Chunk("b", "x", [1.0] * (DIM - 1)), DimensionMismatchError),
    ("embedding too long", Chunk("b", "x", [1.0] * (DIM + 1)), DimensionMismatchError),
    ("NaN in embedding", Chunk("b", "x", _nan_at(3)), InvalidInputError),
    ("inf in embedding", Chunk("b", "x", [*axis(0)[:-1], math.inf]), InvalidInputError),
    ("-inf in embedding", Chunk("b", "x", [-math.inf, *axis(0)[1:]]), InvalidInputError),
    ("all-zero embedding", Chunk("b", "x", [0.0] * DIM), InvalidInputError),
    ("empty embedding", Chunk("b", "x", []), InvalidInputError),
    ("string embedding", Chunk("b", "x", "0.1 0.2"), InvalidInputError),  # type: ignore[arg-type]
    ("empty id", Chunk("", "x", axis(0)), InvalidInputError),
    ("non-string id", Chunk(7, "x", axis(0)), InvalidInputError),  # type: ignore[arg-type]
    ("id of 513 characters", Chunk("x" * 513, "x", axis(0)), InvalidInputError),
    ("duplicate id in one call", Chunk("new-good", "again", axis(0)), InvalidInputError),
    ("text is None", Chunk("b", None, axis(0)), InvalidInputError),  # type: ignore[arg-type]
    ("text is int", Chunk("b", 12, axis(0)), InvalidInputError),  # type: ignore[arg-type]
    ("text is bytes", Chunk("b", b"x", axis(0)), InvalidInputError),  # type: ignore[arg-type]
    ("NUL in text", Chunk("b", "a\x00b", axis(0)), InvalidInputError),
    ("NUL in id", Chunk("b\x00", "x", axis(0)), InvalidInputError),
    ("NUL in metadata value", Chunk("b", "x", axis(0), {"k": "a\x00"}), InvalidInputError),
    ("NUL in metadata key", Chunk("b", "x", axis(0), {"k\x00": "a"}), InvalidInputError),
    ("metadata None", Chunk("b", "x", axis(0), {"k": None}), InvalidInputError),  # type: ignore[dict-item]
    ("metadata list", Chunk("b", "x", axis(0), {"k": [1]}), InvalidInputError),  # type: ignore[dict-item]
    ("metadata dict", Chunk("b", "x", axis(0), {"k": {"a": 1}}), InvalidInputError),  # type: ignore[dict-item]
    ("metadata bytes", Chunk("b", "x", axis(0), {"k": b"a"}), InvalidInputError),  # type: ignore[dict-item]
    ("metadata set", Chunk("b", "x", axis(0), {"k": {1}}), InvalidInputError),  # type: ignore[dict-item]
    ("metadata NaN", Chunk("b", "x", axis(0), {"k": math.nan}), InvalidInputError),
    ("metadata inf", Chunk("b", "x", axis(0), {"k": math.inf}), InvalidInputError),
    ("metadata int beyond 64 bits", Chunk("b", "x", axis(0), {"k": 2**63}), InvalidInputError),
    ("metadata key starting with $", Chunk("b", "x", axis(0), {"$k": 1}), InvalidInputError),
    ("metadata key empty", Chunk("b", "x", axis(0), {"": 1}), InvalidInputError),
    ("metadata key not a string", Chunk("b", "x", axis(0), {1: 1}), InvalidInputError),  # type: ignore[dict-item]
    ("metadata not a dict", Chunk("b", "x", axis(0), [("k", 1)]), InvalidInputError),  # type: ignore[arg-type]
    ("a dict instead of a Chunk", {"id": "b", "text": "x"}, InvalidInputError),
    ("a tuple instead of a Chunk", ("b", "x", None, {}), InvalidInputError),
    ("None instead of a Chunk", None, InvalidInputError),
)


async def _seed(backend: StorageBackendProtocol) -> Any:
    await backend.upsert([Chunk(f"old-{i}", f"apple river {i}", axis(i % DIM), {"i": i})
                          for i in range(5)])
    await backend.upsert([Chunk("other", "apple", axis(0))], namespace="other")
    return await oracle.snapshot(backend)


class TestRefusedWrites:
    async def test_bad_chunks_write_nothing(self, backend: StorageBackendProtocol) -> None:
        """Each bad chunk, placed after a good new chunk and a good replacement in one
        batch, fails the whole call with the right error and leaves the store unchanged.
        If this fails, check validation runs on the whole batch before any write, and the
        error type (DimensionMismatchError for a length, InvalidInputError otherwise)."""
        before = await _seed(backend)
        for label, bad, error in BAD_CHUNKS:
            batch = [GOOD, REPLACEMENT, bad, Chunk("tail", "zebra", axis(3))]
            await oracle.refused(error, label, lambda batch=batch: backend.upsert(batch))
            assert await oracle.snapshot(backend) == before, f"{label}: the store changed"
            assert await backend.keyword_search("zebra") == [], label
        assert await oracle.snapshot(backend) == before

    async def test_bad_batches_write_nothing(self, backend: StorageBackendProtocol) -> None:
        """A lone Chunk, a string, None or a generator instead of a list of chunks is an
        InvalidInputError. If this fails, check upsert refuses a non-sequence (a single
        Chunk must not be iterated field by field)."""
        before = await _seed(backend)
        for label, batch in (("a single Chunk", GOOD), ("a string", "chunks"), ("None", None),
                             ("an int", 3), ("a dict", {"id": GOOD})):
            await oracle.refused(InvalidInputError, label,
                                 lambda batch=batch: backend.upsert(batch))
        assert await oracle.snapshot(backend) == before

    async def test_bad_ids_arguments(self, backend: StorageBackendProtocol) -> None:
        """ids given as a bare string, or holding a non-string or empty id, are refused by
        get and delete; delete(ids="old-1") must not delete 'o', 'l', 'd', ... either.
        If this fails, check `ids` is validated as a list of non-empty strings."""
        await _seed(backend)
        await backend.upsert([Chunk(x, "x") for x in "old-1"], namespace="letters")
        before = await oracle.snapshot(backend)
        for ids in ("old-1", ["old-1", 3], ["old-1", ""], [None], 5):
            await oracle.refused(InvalidInputError, f"delete(ids={ids!r})",
                                 lambda ids=ids: backend.delete(ids=ids))
            await oracle.refused(InvalidInputError, f"delete(ids={ids!r}) in 'letters'",
                                 lambda ids=ids: backend.delete(ids=ids, namespace="letters"))
            await oracle.refused(InvalidInputError, f"get(ids={ids!r})",
                                 lambda ids=ids: backend.get(ids=ids))
        assert await oracle.snapshot(backend) == before

    async def test_bad_paging_arguments(self, backend: StorageBackendProtocol) -> None:
        """A negative limit or offset is an InvalidInputError.
        If this fails, check get validates limit/offset (SQL would reject or misread them)."""
        await _seed(backend)
        for kwargs in ({"limit": -1}, {"offset": -1}, {"limit": "3"}, {"offset": 1.5}):
            await oracle.refused(InvalidInputError, repr(kwargs),
                                 lambda kwargs=kwargs: backend.get(**kwargs))


class TestMalformedFilters:
    async def test_every_method_refuses(self, backend: StorageBackendProtocol) -> None:
        """Every malformed filter is a FilterError (an InvalidInputError) from count, get,
        get(ids), delete, delete(ids), vector_search, keyword_search and HybridSearcher,
        and nothing is deleted. If this fails, check each method parses its filter with
        agent_brain.filters.parse_filter before touching the store."""
        before = await _seed(backend)
        searcher = HybridSearcher(backend)
        calls: list[tuple[str, Callable[[Any], Awaitable[Any]]]] = [
            ("count", lambda f: backend.count(filters=f)),
            ("get", lambda f: backend.get(filters=f)),
            ("get(ids)", lambda f: backend.get(["old-1"], filters=f)),
            ("delete", lambda f: backend.delete(filters=f)),
            ("delete(ids)", lambda f: backend.delete(ids=["old-1"], filters=f)),
            ("vector_search", lambda f: backend.vector_search(axis(0), filters=f)),
            ("keyword_search", lambda f: backend.keyword_search("apple", filters=f)),
            ("hybrid", lambda f: searcher.search("apple", axis(0), filters=f)),
        ]
        for label, filters in MALFORMED_FILTERS:
            for method, call in calls:
                exc = await oracle.refused(FilterError, f"{method} with {label}",
                                           lambda call=call, filters=filters: call(filters))
                assert isinstance(exc, InvalidInputError)
        assert await oracle.snapshot(backend) == before

    async def test_error_names_the_offending_part(self, backend: StorageBackendProtocol
                                                  ) -> None:
        """A FilterError's message names the bad operator or key.
        If this fails, check the backend re-raises parse_filter's error unchanged."""
        await _seed(backend)
        for filters, part in (
            ({"$and": [{"n": 1}, {"$or": [{"s": {"$bad": 1}}]}]}, "$bad"),
            ({"$xor": [{"n": 1}]}, "$xor"),
            ({"deep": {"$gt": [1]}}, "deep"),
        ):
            exc = await oracle.refused(FilterError, repr(filters),
                                       lambda filters=filters: backend.count(filters=filters))
            assert part in str(exc), f"{str(exc)!r} does not name {part!r}"
