"""All-or-nothing writes, whatever their size: batches larger than Chroma's maximum batch
(5,461) that fail late write nothing, a failed replacement keeps the old versions, and a
large batch that is valid is written (and replaced, and deleted) whole."""

from __future__ import annotations

import math
from typing import Any

from agent_brain import Chunk, StorageBackendProtocol
from agent_brain.errors import DimensionMismatchError, InvalidInputError
from contract_tests import oracle
from contract_tests.data import DIM, axis, rng

LARGE = 5_600
"""More than 5,461, Chroma's largest batch: a backend that writes in engine-sized batches
must still make the whole call atomic."""


def _large_batch(word: str, count: int = LARGE) -> list[Chunk]:
    vectors = rng(sum(map(ord, word))).normal(size=(count, DIM))
    return [
        Chunk(f"b{i:05d}", f"{word} {i}", [float(x) for x in vectors[i]],
              {"i": i, "half": i % 2 == 0})
        for i in range(count)
    ]


def _old() -> list[Chunk]:
    return [Chunk(f"b{i:05d}", f"apple river {i}", axis(i % DIM), {"old": True, "i": i})
            for i in range(10)]


def _spoil(batch: list[Chunk], at: int, how: str) -> tuple[list[Any], type[Exception]]:
    batch = list(batch)
    c = batch[at]
    if how == "nan":
        batch[at] = Chunk(c.id, c.text, [*list(c.embedding or [])[:-1], math.nan], c.metadata)
        return batch, InvalidInputError
    if how == "dimension":
        batch[at] = Chunk(c.id, c.text, [1.0] * (DIM + 1), c.metadata)
        return batch, DimensionMismatchError
    if how == "duplicate":
        batch[at] = Chunk(batch[0].id, c.text, c.embedding, c.metadata)
        return batch, InvalidInputError
    if how == "metadata":
        batch[at] = Chunk(c.id, c.text, c.embedding, {"bad": [1, 2]})  # type: ignore[dict-item]
        return batch, InvalidInputError
    if how == "nul":
        batch[at] = Chunk(c.id, "meadow\x00", c.embedding, c.metadata)
        return batch, InvalidInputError
    assert how == "not-a-chunk"
    batch[at] = {"id": c.id, "text": c.text}  # type: ignore[call-overload]
    return batch, InvalidInputError


class TestAllOrNothing:
    async def test_large_batch_failing_late_writes_nothing(
        self, backend: StorageBackendProtocol
    ) -> None:
        """A 5,600-chunk upsert whose chunk #5,500 (or the last) is bad raises and writes
        nothing: no new chunk, no keyword posting, no new namespace.
        If this fails, check the batch is validated in full before the first engine batch
        is written (or the write is one transaction / rolled back)."""
        await backend.upsert(_old())
        before = await oracle.snapshot(backend, ["big"])
        good = _large_batch("meadow")
        for how, at in (("nan", 5_500), ("dimension", 5_500), ("duplicate", LARGE - 1),
                        ("metadata", 5_500), ("nul", 5_462), ("not-a-chunk", LARGE - 1)):
            batch, error = _spoil(good, at, how)
            for namespace in ("default", "big"):
                await oracle.refused(error, f"{how} at #{at} into {namespace!r}",
                                     lambda b=batch, ns=namespace: backend.upsert(b, ns))
            assert await backend.count() == 10, how
            assert await backend.count(namespace="big") == 0, how
            assert await backend.keyword_search("meadow") == [], how
        assert await oracle.snapshot(backend, ["big"]) == before

    async def test_failed_replacement_keeps_old_versions(
        self, backend: StorageBackendProtocol
    ) -> None:
        """A large upsert that would replace existing chunks and fails at its end leaves the
        old text, metadata, embedding and keyword/vector results in place.
        If this fails, check replacements are not deleted (or overwritten) before the whole
        batch is known to be good."""
        old = _old()
        await backend.upsert(old)
        before = await oracle.snapshot(backend)
        before_vector = await backend.vector_search(axis(1), top_k=10)
        before_keyword = await backend.keyword_search("apple river", top_k=10)
        batch, error = _spoil(_large_batch("planet", 6_000), 5_999, "nan")
        await oracle.refused(error, "replacement batch", lambda: backend.upsert(batch))
        assert await oracle.snapshot(backend) == before
        assert await backend.keyword_search("planet") == []
        assert await backend.vector_search(axis(1), top_k=10) == before_vector
        assert await backend.keyword_search("apple river", top_k=10) == before_keyword
        oracle.assert_vector_results("after failed upsert", before_vector, old, axis(1), 10)

    async def test_large_batch_is_written_replaced_and_deleted_whole(
        self, backend: StorageBackendProtocol
    ) -> None:
        """A valid 5,600-chunk upsert writes every chunk (keyword- and vector-searchable),
        a 5,600-chunk replacement replaces every one, and a 5,500-id delete deletes them.
        If this fails, check the engine-batch splitting (the chunks around 5,461)."""
        batch = _large_batch("meadow")
        assert await backend.upsert(batch) == LARGE
        assert await backend.count() == LARGE
        assert await backend.count(filters={"half": True}) == LARGE // 2
        probe = ["b05460", "b05461", "b05462", "b05599", "b00000"]
        got = await backend.get(probe)
        assert [c.text for c in got] == [f"meadow {int(i[1:])}" for i in probe]
        hits = await backend.keyword_search("5461")
        assert [r.id for r in hits] == ["b05461"]
        nearest = await backend.vector_search(batch[5_500].embedding or [], top_k=1)
        assert [r.id for r in nearest] == ["b05500"]

        replaced = _large_batch("planet")
        assert await backend.upsert(replaced) == LARGE
        assert await backend.count() == LARGE
        assert await backend.keyword_search("meadow") == []
        assert len(await backend.keyword_search("planet", top_k=20)) == 20
        (last,) = await backend.get(["b05599"])
        assert last.text == "planet 5599"

        ids = [c.id for c in batch[:5_500]]
        assert await backend.delete(ids=ids) == 5_500
        assert await backend.count() == 100
        assert [c.id for c in await backend.get(limit=2)] == ["b05500", "b05501"]
        assert await backend.delete(filters={"half": True}) == 50
        assert await backend.count() == 50
