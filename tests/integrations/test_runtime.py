"""Event loops and ownership, for both adapters on both backends: sync methods with and
without a running loop, one home loop per backend, who opens and who closes."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.documents import Document

from agent_brain import StorageBackendProtocol, create_backend
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import BackendUnavailableError
from agent_brain.integrations import langchain as lc
from agent_brain.integrations import llama_index as li
from tests.integrations.test_llama_index import EMBEDDER, node, vq

Store = li.AgentBrainVectorStore | lc.AgentBrainVectorStore


def _langchain(config: AgentBrainConfig, **kw: Any) -> lc.AgentBrainVectorStore:
    embeddings = lc.AgentBrainEmbeddings.from_config(config)
    if "backend" in kw:
        return lc.AgentBrainVectorStore(embedding=embeddings, namespace="rt", **kw)
    return lc.AgentBrainVectorStore.from_config(config, embeddings, namespace="rt")


def _llama(config: AgentBrainConfig, **kw: Any) -> li.AgentBrainVectorStore:
    if "backend" in kw:
        return li.AgentBrainVectorStore(namespace="rt", **kw)
    return li.AgentBrainVectorStore.from_config(config, namespace="rt")


def write_and_read(store: Store) -> list[str]:
    """Sync round trip through either adapter; returns the ids found by a search."""
    if isinstance(store, li.AgentBrainVectorStore):
        store.add([node("x", "lava flows"), node("y", "python code")])
        return list(store.query(vq("lava", top_k=1)).ids or [])
    store.add_documents([Document(id="x", page_content="lava flows"),
                         Document(id="y", page_content="python code")])
    return [d.id or "" for d in store.similarity_search("lava", k=1)]


async def awrite_and_read(store: Store) -> list[str]:
    if isinstance(store, li.AgentBrainVectorStore):
        await store.async_add([node("x", "lava flows"), node("y", "python code")])
        return list((await store.aquery(vq("lava", top_k=1))).ids or [])
    await store.aadd_documents([Document(id="x", page_content="lava flows"),
                                Document(id="y", page_content="python code")])
    return [d.id or "" for d in await store.asimilarity_search("lava", k=1)]


ADAPTERS: dict[str, Callable[..., Store]] = {"llama_index": _llama, "langchain": _langchain}


@pytest.fixture(params=sorted(ADAPTERS))
def make(request: pytest.FixtureRequest) -> Callable[..., Store]:
    return ADAPTERS[request.param]


def _threads(prefix: str = "agent-brain-") -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


async def _is_closed(backend: StorageBackendProtocol) -> bool:
    try:
        await backend.count(namespace="rt")
    except BackendUnavailableError:
        return True
    return False


class Spy:
    """A backend wrapper that records the event loop each call runs on."""

    def __init__(self, inner: StorageBackendProtocol) -> None:
        self.inner = inner
        self.loops: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.loops.add(id(asyncio.get_running_loop()))
            return target(*args, **kwargs)

        return call


# --------------------------------------------------------------------------- sync bridge
def test_sync_methods_without_a_running_loop(make: Callable[..., Store],
                                             config: AgentBrainConfig) -> None:
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    store = make(config)
    try:
        assert write_and_read(store) == ["x"]
    finally:
        store.close()
    assert _threads() == []


async def test_sync_methods_inside_a_running_loop(make: Callable[..., Store],
                                                  config: AgentBrainConfig) -> None:
    """As in a Jupyter cell: a sync call on a thread whose loop is running must neither
    deadlock nor complain."""
    asyncio.get_running_loop()
    store = make(config)
    try:
        assert write_and_read(store) == ["x"]
        assert await awrite_and_read(store) == ["x"]
    finally:
        store.close()  # sync close from inside the loop, too


async def test_every_backend_call_runs_on_one_loop(make: Callable[..., Store],
                                                   config: AgentBrainConfig) -> None:
    """Sync calls from this thread and from a worker, async calls from this loop: the
    backend always runs on the store's private loop, never on the caller's."""
    spy = Spy(create_backend(config))
    store = make(config, backend=spy)
    try:
        write_and_read(store)
        await awrite_and_read(store)
        await asyncio.to_thread(write_and_read, store)
        await asyncio.gather(*(awrite_and_read(store) for _ in range(3)))
        assert len(spy.loops) == 1
        assert id(asyncio.get_running_loop()) not in spy.loops
    finally:
        await store.aclose()
    assert await _is_closed(spy.inner)  # it opened the backend, so it closed it


async def test_async_calls_leave_the_callers_loop_free(make: Callable[..., Store],
                                                       config: AgentBrainConfig) -> None:
    """Even a backend call that blocks its loop for a while (here: 0.3 s of sleep in
    upsert) does not stall the caller's loop, which keeps ticking meanwhile."""

    class Slow(Spy):
        def __getattr__(self, name: str) -> Any:
            target = super().__getattr__(name)
            if name != "upsert":
                return target

            async def upsert(*args: Any, **kwargs: Any) -> Any:
                time.sleep(0.3)  # noqa: ASYNC251 - blocks its loop on purpose
                return await target(*args, **kwargs)

            return upsert

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    store = make(config, backend=Slow(create_backend(config)))
    task = asyncio.create_task(ticker())
    try:
        assert await awrite_and_read(store) == ["x"]
    finally:
        task.cancel()
        await store.aclose()
    assert ticks >= 10


def test_embedders_work_inside_and_outside_a_loop(config: AgentBrainConfig) -> None:
    embeddings = lc.AgentBrainEmbeddings.from_config(config)
    expected = EMBEDDER.embed_one("lava")

    async def inside() -> tuple[list[float], list[float], list[float]]:
        return (embeddings.embed_query("lava"), await embeddings.aembed_query("lava"),
                li.AgentBrainEmbedding.from_config(config).get_query_embedding("lava"))

    assert embeddings.embed_query("lava") == expected
    assert all(v == pytest.approx(expected) for v in asyncio.run(inside()))


# --------------------------------------------------------------------------- ownership
def test_from_config_owns_the_backend(make: Callable[..., Store],
                                      config: AgentBrainConfig) -> None:
    store = make(config)
    backend = store.client if isinstance(store, li.AgentBrainVectorStore) else store.backend
    assert write_and_read(store) == ["x"]
    assert _threads() != []
    store.close()
    store.close()
    assert _threads() == []
    assert asyncio.run(_is_closed(backend))
    with pytest.raises(BackendUnavailableError, match="closed"):
        write_and_read(store)
    again = make(config)  # the data is still there, and the store can be reopened
    try:
        assert write_and_read(again) == ["x"]
    finally:
        again.close()


def test_borrowed_unopened_backend_is_opened_and_closed(make: Callable[..., Store],
                                                        config: AgentBrainConfig) -> None:
    backend = create_backend(config)
    with make(config, backend=backend) as store:
        assert write_and_read(store) == ["x"]
    assert asyncio.run(_is_closed(backend))


async def test_borrowed_open_backend_is_left_open(make: Callable[..., Store],
                                                  config: AgentBrainConfig,
                                                  backend_name: str) -> None:
    """A backend the caller opened is never closed by the store. Opened on this loop, it
    is used here with loop=; without loop=, a loop-bound backend (asyncpg) is a clear
    error, a loop-free one (Chroma) simply works."""
    backend = create_backend(config)
    await backend.initialize()
    try:
        store = make(config, backend=backend)
        if backend_name == "postgres":
            with pytest.raises(BackendUnavailableError, match="loop="):
                await awrite_and_read(store)
        else:
            assert await awrite_and_read(store) == ["x"]
        await store.aclose()

        here = make(config, backend=backend, loop=asyncio.get_running_loop())
        assert await awrite_and_read(here) == ["x"]
        with pytest.raises(RuntimeError, match="deadlock"):
            write_and_read(here)  # would block the very loop it waits for
        assert await asyncio.to_thread(write_and_read, here) == ["x"]  # other threads: fine
        await here.aclose()
        assert _threads() == []
        assert not await _is_closed(backend)
        assert await backend.count(namespace="rt") == 2
    finally:
        await backend.close()


def test_loop_that_is_not_running_is_a_clear_error(make: Callable[..., Store],
                                                   config: AgentBrainConfig) -> None:
    loop = asyncio.new_event_loop()
    try:
        store = make(config, backend=create_backend(config), loop=loop)
        with pytest.raises(RuntimeError, match="not running"):
            write_and_read(store)
        store.close()
    finally:
        loop.close()


def test_abandoned_store_is_cleaned_up(make: Callable[..., Store],
                                       config: AgentBrainConfig) -> None:
    """A store dropped without close() closes what it opened and stops its thread."""
    store = make(config)
    backend = store.client if isinstance(store, li.AgentBrainVectorStore) else store.backend
    write_and_read(store)
    del store
    gc.collect()
    assert _threads() == []
    assert asyncio.run(_is_closed(backend))
