"""Lifecycle: initialize/close idempotence, the async context manager, closed backends,
capabilities, info(), and a fresh store being empty."""

from __future__ import annotations

import pytest

from agent_brain import Chunk, StorageBackendProtocol, create_backend
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import BackendUnavailableError
from agent_brain.types import Capabilities, NamespaceInfo, StoreInfo
from contract_tests.data import DIM, axis
from contract_tests.harness import DIMENSION

ALL_OPERATORS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists",
                 "$and", "$or", "$not"}


async def _assert_empty(backend: StorageBackendProtocol) -> None:
    assert await backend.namespaces() == []
    for name in ("default", "a", "ns", "A"):
        assert await backend.count(namespace=name) == 0
        assert await backend.get(namespace=name) == []
        assert await backend.keyword_search("apple river stone", namespace=name) == []
        assert await backend.vector_search(axis(0), namespace=name) == []
    info = await backend.info()
    assert info.namespaces == ()


class TestStillEmpty:
    """A fresh store holds nothing: catches data leaking between tests (a shared database,
    collection, index file or in-process cache)."""

    async def test_fresh_store_is_empty(self, backend: StorageBackendProtocol) -> None:
        """A brand-new store has no namespaces and counts 0 everywhere.
        If this fails, check that the harness gives each test its own store, and that the
        backend keeps no process-wide state (e.g. a BM25 index cache keyed by namespace)."""
        await _assert_empty(backend)

    async def test_still_empty_after_a_test_wrote(self, backend: StorageBackendProtocol) -> None:
        """Run after other tests of this session wrote to 'default' and 'a': still empty.
        If this fails, check store isolation in the harness and module-level caches."""
        await _assert_empty(backend)
        await backend.upsert([Chunk("x", "apple river", axis(0), {"k": 1})])
        await backend.upsert([Chunk("x", "apple river", axis(0), {"k": 1})], namespace="a")
        assert await backend.namespaces() == ["a", "default"]


class TestLifecycle:
    async def test_initialize_is_idempotent(self, backend: StorageBackendProtocol) -> None:
        """A second initialize() on an open backend is harmless and keeps the data.
        If this fails, check initialize() for unconditional create/migrate/reset steps."""
        await backend.upsert([Chunk("a", "apple", axis(0), {"k": 1})])
        await backend.initialize()
        await backend.initialize()
        assert await backend.count() == 1
        got = await backend.get(["a"])
        assert [c.id for c in got] == ["a"]
        assert got[0].metadata == {"k": 1}

    async def test_close_is_idempotent_and_closed_backend_refuses(
        self, backend: StorageBackendProtocol
    ) -> None:
        """close() twice is fine; a closed backend raises BackendUnavailableError.
        If this fails, check close() guards against double release and that every method
        checks the backend is open."""
        await backend.upsert([Chunk("a", "apple", axis(0))])
        await backend.close()
        await backend.close()
        calls = [
            lambda: backend.count(),
            lambda: backend.get(),
            lambda: backend.namespaces(),
            lambda: backend.upsert([Chunk("b", "stone")]),
            lambda: backend.keyword_search("apple"),
            lambda: backend.vector_search(axis(0)),
            lambda: backend.delete(ids=["a"]),
            lambda: backend.reset(),
        ]
        for call in calls:
            with pytest.raises(BackendUnavailableError):
                await call()

    async def test_not_initialized_refuses(self, store_config: AgentBrainConfig) -> None:
        """A backend that was built but never initialized raises BackendUnavailableError.
        If this fails, check the 'open' guard of each method (it must not open lazily in
        some methods and not others)."""
        fresh = create_backend(store_config)
        try:
            with pytest.raises(BackendUnavailableError):
                await fresh.count()
            with pytest.raises(BackendUnavailableError):
                await fresh.upsert([Chunk("a", "apple")])
        finally:
            await fresh.close()

    async def test_async_context_manager(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """`async with create_backend(cfg) as b` opens b (it returns itself) and closes it.
        If this fails, check __aenter__ calls initialize() and returns self, and __aexit__
        calls close()."""
        await backend.upsert([Chunk("a", "apple", axis(0))], namespace="cm")
        await backend.close()
        store = create_backend(store_config)
        async with store as opened:
            assert opened is store
            assert await opened.count(namespace="cm") == 1
            await opened.upsert([Chunk("b", "stone", axis(1))], namespace="cm")
        with pytest.raises(BackendUnavailableError):
            await store.count(namespace="cm")
        async with create_backend(store_config) as again:
            assert await again.count(namespace="cm") == 2

    async def test_protocol_and_capabilities(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """The backend satisfies the protocol and declares its capabilities as data: its
        registry name, persistence, all-or-nothing writes, every filter operator.
        If this fails, check the backend's `capabilities` property."""
        assert isinstance(backend, StorageBackendProtocol)
        caps = backend.capabilities
        assert isinstance(caps, Capabilities)
        assert caps.name == store_config.storage.backend
        assert caps.persistent is True
        assert caps.transactional_writes is True
        assert caps.keyword_ranking == "bm25"
        assert caps.vector_index
        assert isinstance(caps.max_top_k, int)
        assert caps.max_top_k >= 100
        assert set(caps.filter_operators) >= ALL_OPERATORS

    async def test_info(self, backend: StorageBackendProtocol) -> None:
        """info() reports the backend, the recorded model and dimension (None until the
        first write), and each namespace's size and number of chunks with an embedding.
        If this fails, check info()'s namespace statistics and what the first write records."""
        before = await backend.info()
        assert isinstance(before, StoreInfo)
        assert before.backend == backend.capabilities.name
        assert before.embedding_model is None
        assert before.namespaces == ()
        await backend.upsert([
            Chunk("a", "apple", axis(0)), Chunk("b", "stone", None), Chunk("c", "moon", axis(1)),
        ], namespace="n1")
        await backend.upsert([Chunk("a", "apple", None)], namespace="n0")
        info = await backend.info()
        assert info.embedding_model == "contract-test-model"
        assert info.embedding_dimension == DIMENSION == DIM
        assert info.distance == "cosine"
        assert isinstance(info.location, str)
        assert info.location
        assert isinstance(info.text_search_config, str)
        assert sorted(info.namespaces, key=lambda n: n.name) == [
            NamespaceInfo("n0", 1, 0), NamespaceInfo("n1", 3, 2),
        ]
        await backend.reset("n0")
        await backend.reset("n1")
        after = await backend.info()
        assert after.namespaces == ()
        assert after.embedding_model == "contract-test-model", "reset must keep the record"
