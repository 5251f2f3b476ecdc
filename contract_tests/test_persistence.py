"""Persistence: close and reopen keeps data, keyword statistics and filters right; the
recorded embedding model and dimension are checked on reopen."""

from __future__ import annotations

from agent_brain import Chunk, StorageBackendProtocol, create_backend
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import ConfigError, DimensionMismatchError
from contract_tests import oracle
from contract_tests.data import (
    DIM,
    axis,
    filter_corpus,
    keyword_corpus,
    random_vector,
    rng,
    systematic_filters,
)


def _with(config: AgentBrainConfig, *, dimension: int | None = None,
          model: str | None = None) -> AgentBrainConfig:
    other = config.model_copy(deep=True)
    if dimension is not None:
        other.embedding.dimension = dimension
    if model is not None:
        other.embedding.model = model
    return other


class TestReopen:
    async def test_data_and_indexes_survive_close(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """After writes, replacements, deletes and a reset, close and reopen: every chunk,
        namespace, filter answer, keyword score (BM25 statistics) and vector result is as
        before. If this fails, check the keyword index is persisted after every write
        (deletes and resets included) and reloaded on initialize()."""
        kchunks = keyword_corpus(count=51)
        fchunks = filter_corpus()
        await backend.upsert(kchunks, namespace="kw")
        await backend.upsert(fchunks, namespace="flt")
        await backend.upsert(kchunks[:5], namespace="doomed")
        replaced = [Chunk(c.id, "zebra " + c.text, c.embedding, {"r": 1}) for c in kchunks[:6]]
        await backend.upsert(replaced, namespace="kw")
        assert await backend.delete(ids=[c.id for c in kchunks[41:]], namespace="kw") == 10
        await backend.reset("doomed")
        kw_state = {c.id: c for c in kchunks[:41]}
        kw_state.update({c.id: c for c in replaced})
        kw_final = [kw_state[k] for k in sorted(kw_state)]
        before = await oracle.snapshot(backend)
        await backend.close()

        reopened = create_backend(store_config)
        await reopened.initialize()
        try:
            assert await reopened.namespaces() == ["flt", "kw"]
            assert await oracle.snapshot(reopened) == before
            kw = oracle.KeywordOracle(kw_final, store_config.keyword)
            for query in ("zebra", "apple river", "comet harbor", "stone"):
                results = await reopened.keyword_search(query, top_k=60, namespace="kw")
                oracle.assert_keyword_results(query, results, kw, kw_final, query, 60)
            for filters in systematic_filters()[::9]:
                got = [c.id for c in await reopened.get(namespace="flt", filters=filters)]
                assert got == oracle.listing(fchunks, filters), filters
            query = random_vector(rng(4))
            results = await reopened.vector_search(query, top_k=20, namespace="flt",
                                                   filters={"tag": "red"})
            oracle.assert_vector_results("reopened", results,
                                         oracle.matching(fchunks, {"tag": "red"}), query, 20)
            await reopened.upsert([Chunk("after", "zebra zebra", axis(0))], namespace="kw")
            assert (await reopened.keyword_search("zebra", namespace="kw"))[0].id == "after"
        finally:
            await reopened.close()

    async def test_other_dimension_is_refused(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """Reopening a written store with another embedding.dimension raises
        DimensionMismatchError naming the stored and the configured dimension; the right
        configuration still opens it. If this fails, check initialize() compares the
        recorded dimension with the configured one."""
        await backend.upsert([Chunk("a", "apple", axis(0))])
        await backend.close()
        wrong = create_backend(_with(store_config, dimension=DIM * 2))
        try:
            exc = await oracle.refused(DimensionMismatchError, "dimension 16",
                                       wrong.initialize)
        finally:
            await wrong.close()
        message = str(exc)
        assert str(DIM) in message, message
        assert str(DIM * 2) in message, message
        async with create_backend(store_config) as again:
            assert await again.count() == 1

    async def test_other_model_is_refused(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """Reopening a written store with another embedding.model raises ConfigError naming
        the stored and the configured model. If this fails, check the model is recorded at
        first write and compared by initialize()."""
        await backend.upsert([Chunk("a", "apple", None)], namespace="n")
        await backend.reset("n")
        await backend.close()
        wrong = create_backend(_with(store_config, model="another-model"))
        try:
            exc = await oracle.refused(ConfigError, "another model", wrong.initialize)
        finally:
            await wrong.close()
        message = str(exc)
        assert "contract-test-model" in message, message
        assert "another-model" in message, message

    async def test_unwritten_store_records_nothing(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """A store that was opened but never written has no recorded model: it opens with
        any dimension, and the first write records that one. If this fails, check the
        record is made at first write, not at initialize()."""
        await backend.close()
        other = _with(store_config, dimension=DIM * 2)
        async with create_backend(other) as wide:
            assert (await wide.info()).embedding_model is None
            await wide.upsert([Chunk("w", "apple", [1.0] * (DIM * 2))])
        narrow = create_backend(store_config)
        try:
            await oracle.refused(DimensionMismatchError, "dimension 8", narrow.initialize)
        finally:
            await narrow.close()
