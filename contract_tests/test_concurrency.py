"""Concurrent calls on one backend (the async API invites asyncio.gather): writes and
reads interleave without errors, and the final state is exactly what the writes describe."""

from __future__ import annotations

import asyncio
from typing import Any

from agent_brain import Chunk, StorageBackendProtocol
from agent_brain.config import AgentBrainConfig
from contract_tests import oracle
from contract_tests.data import keyword_corpus, random_vector, rng


def _batches() -> list[list[Chunk]]:
    chunks = keyword_corpus(seed=31, count=241)
    return [chunks[i:i + 24] for i in range(0, len(chunks), 24)]


class TestConcurrentCalls:
    async def test_concurrent_writes_and_reads(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """Ten upserts into one namespace, two into others, and searches, all gathered: no
        error, and afterwards counts, listings and BM25 scores equal the oracle over
        everything written. If this fails, check the write path serialises updates of the
        keyword index / statistics (a lost update shows as wrong document frequencies)."""
        batches = _batches()
        everything = [c for batch in batches for c in batch]
        query = random_vector(rng(2))
        calls: list[Any] = [backend.upsert(batch) for batch in batches]
        calls += [backend.upsert(batches[0], namespace="side-a"),
                  backend.upsert(batches[1], namespace="side-b")]
        calls += [backend.keyword_search("apple river") for _ in range(4)]
        calls += [backend.vector_search(query) for _ in range(4)]
        calls += [backend.count() for _ in range(4)]
        results = await asyncio.gather(*calls)
        assert results[: len(batches)] == [len(b) for b in batches]
        assert await backend.count() == len(everything)
        assert [c.id for c in await backend.get(include_embeddings=False)] == sorted(
            c.id for c in everything)
        kw = oracle.KeywordOracle(everything, store_config.keyword)
        for text in ("apple river", "comet harbor", "zebra"):
            hits = await backend.keyword_search(text, top_k=300)
            oracle.assert_keyword_results(text, hits, kw, everything, text, 300)
        hits = await backend.vector_search(query, top_k=300)
        oracle.assert_vector_results("vector", hits, everything, query, 300)
        assert await backend.namespaces() == ["default", "side-a", "side-b"]

    async def test_concurrent_deletes_and_replacements(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """Disjoint deletes and replacements gathered together: every delete counts its own
        chunks, and the final state equals the oracle. If this fails, check deletes and
        upserts of one namespace do not race on shared state."""
        batches = _batches()
        everything = [c for batch in batches for c in batch]
        await backend.upsert(everything)
        doomed = [[c.id for c in batch[::2]] for batch in batches[:6]]
        replaced = [Chunk(c.id, "zebra camel " + c.text, c.embedding, {"r": n})
                    for n, batch in enumerate(batches[6:]) for c in batch[::3]]
        calls: list[Any] = [backend.delete(ids=ids) for ids in doomed]
        calls += [backend.upsert(replaced[i::4]) for i in range(4)]
        results = await asyncio.gather(*calls)
        assert results[: len(doomed)] == [len(ids) for ids in doomed]
        state = {c.id: c for c in everything}
        for ids in doomed:
            for cid in ids:
                del state[cid]
        state.update({c.id: c for c in replaced})
        final = [state[k] for k in sorted(state)]
        assert [c.id for c in await backend.get(include_embeddings=False)] == [
            c.id for c in final]
        kw = oracle.KeywordOracle(final, store_config.keyword)
        for text in ("zebra", "apple river stone"):
            hits = await backend.keyword_search(text, top_k=300)
            oracle.assert_keyword_results(text, hits, kw, final, text, 300)
