"""One event loop per backend: the sync/async bridge shared by the framework adapters.

A backend's loop-bound resources (asyncpg's pool, the backends' asyncio locks) belong to the
event loop that opened them and must only be used from it. So every adapter sends every
backend call to one *home loop* for its whole lifetime:

- by default a private loop running in a daemon thread that the adapter owns (started on
  first use, stopped by ``close()``): sync methods block on it with
  ``run_coroutine_threadsafe(...).result()``, which works with no running loop *and* from
  inside one (a Jupyter cell) because the waiting thread is never the one doing the work;
  async methods ``await asyncio.wrap_future(run_coroutine_threadsafe(...))``, so the caller's
  loop stays free while the backend works, and cancelling the caller cancels the backend
  call;
- or, with ``loop=``, the caller's own loop, for a backend the caller already opened there.
  Async methods called on that loop run directly; sync methods work from other threads
  while that loop runs, and raise on the loop's own thread (blocking the loop a call waits
  for would deadlock).

Ownership: a backend built from a configuration is the adapter's; a backend passed in is
the caller's, and the adapter closes it only if the adapter was the one to open it (the
first call found it closed, so the adapter initialized it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from agent_brain.errors import BackendUnavailableError
from agent_brain.protocol import StorageBackendProtocol

T = TypeVar("T")
log = logging.getLogger(__name__)

_STOP_TIMEOUT = 30.0
"""Seconds ``close()`` waits for the backend to close and the private loop to stop."""


class LoopThread:
    """A private event loop in a daemon thread, started on first use."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._loop is not None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def main() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=main, name=self._name, daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def in_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def stop(self) -> None:
        """Shut the loop's executor down, stop the loop and join its thread. Idempotent."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        if threading.current_thread() is thread:  # from a finalizer running on the loop
            loop.call_soon(loop.stop)
            return
        if loop.is_running():
            done = asyncio.run_coroutine_threadsafe(_drain(loop), loop)
            try:
                done.result(_STOP_TIMEOUT)
            except Exception:  # pragma: no cover - best effort on the way out
                log.debug("draining the private event loop failed", exc_info=True)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(_STOP_TIMEOUT)
        if not thread.is_alive():
            loop.close()


async def _drain(loop: asyncio.AbstractEventLoop) -> None:
    await loop.shutdown_asyncgens()
    await loop.shutdown_default_executor()


class BackendRunner:
    """Runs coroutines against one backend, always on the backend's home loop.

    ``call(fn)`` (sync) and ``acall(fn)`` (async) run ``fn(backend)`` there after opening the
    backend on first use. ``fn`` is called *on the home loop*, so every coroutine and future
    it creates belongs to that loop.
    """

    def __init__(
        self,
        backend: StorageBackendProtocol,
        *,
        owned: bool,
        namespace: str,
        loop: asyncio.AbstractEventLoop | None = None,
        name: str = "agent-brain",
    ) -> None:
        self.backend = backend
        self.owned = owned
        self._namespace = namespace
        self._foreign = loop
        self._private = LoopThread(name) if loop is None else None
        self._ready = False
        self._opened_here = False
        self._closed = False
        self._open_lock = asyncio.Lock()

    # ------------------------------------------------------------------ running
    def call(self, fn: Callable[[StorageBackendProtocol], Awaitable[T]]) -> T:
        """Run ``fn(backend)`` on the home loop and wait for it (from any thread)."""
        loop = self._home()
        if self._on_home_thread(loop):
            raise RuntimeError(
                "a synchronous Agent Brain method was called on the event loop that owns the "
                "backend, where waiting would deadlock; await the async twin instead "
                "(aquery, async_add, asimilarity_search, ...)"
            )
        if self._foreign is not None and not loop.is_running():
            raise RuntimeError(
                "the event loop given as loop= is not running, so nothing can run the "
                "backend's calls; use the async methods on that loop, or build the store "
                "without loop= so that it runs its own"
            )
        return asyncio.run_coroutine_threadsafe(self._guarded(fn), loop).result()

    async def acall(self, fn: Callable[[StorageBackendProtocol], Awaitable[T]]) -> T:
        """Run ``fn(backend)`` on the home loop; the caller's loop is free meanwhile."""
        loop = self._home()
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - async methods always have a loop
            running = None
        if running is loop:
            return await self._guarded(fn)
        future = asyncio.run_coroutine_threadsafe(self._guarded(fn), loop)
        return await asyncio.wrap_future(future)

    def _home(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise BackendUnavailableError(
                "this Agent Brain vector store is closed",
                hint="build a new one (from_config(...) or (backend=...))",
            )
        if self._foreign is not None:
            return self._foreign
        assert self._private is not None
        return self._private.loop()

    def _on_home_thread(self, loop: asyncio.AbstractEventLoop) -> bool:
        if self._private is not None:
            return self._private.in_thread()
        try:
            return asyncio.get_running_loop() is loop
        except RuntimeError:
            return False

    async def _guarded(self, fn: Callable[[StorageBackendProtocol], Awaitable[T]]) -> T:
        await self._ensure_open()
        try:
            return await fn(self.backend)
        except RuntimeError as exc:
            if _is_wrong_loop(exc):
                raise _wrong_loop(exc) from exc
            raise

    async def _ensure_open(self) -> None:
        if self._ready:
            return
        async with self._open_lock:
            if self._ready:
                return
            if self.owned:
                await self.backend.initialize()
                self._opened_here = True
            else:
                await self._open_borrowed()
            self._ready = True

    async def _open_borrowed(self) -> None:
        """Initialize a caller's backend only if it is not open yet, and remember that we
        did (so that ``close()`` closes exactly what this adapter opened)."""
        if await self._probe() is None:
            return
        await self.backend.initialize()
        failure = await self._probe()
        if failure is not None:  # open (initialize was a no-op), yet failing from here
            raise _wrong_loop(failure) from failure
        self._opened_here = True

    async def _probe(self) -> BackendUnavailableError | None:
        """``None`` if the backend answers from this loop, else why not."""
        try:
            await self.backend.count(namespace=self._namespace)
        except BackendUnavailableError as exc:
            return exc
        except RuntimeError as exc:
            if _is_wrong_loop(exc):
                raise _wrong_loop(exc) from exc
            raise
        return None

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Close the backend if this adapter owns or opened it, then stop the private loop.
        Idempotent; safe from any thread except the home loop's."""
        if self._closed:
            return
        if self._needs_closing() and self._on_home_thread(self._home()):
            raise RuntimeError("close() was called on the event loop that owns the backend, "
                               "where waiting would deadlock; use 'await store.aclose()'")
        try:
            if self._needs_closing():
                self.call(_close_backend)
        finally:
            self._closed = True
            if self._private is not None:
                self._private.stop()

    async def aclose(self) -> None:
        if self._closed:
            return
        try:
            if self._needs_closing():
                await self.acall(_close_backend)
        finally:
            self._closed = True
            if self._private is not None:
                await asyncio.to_thread(self._private.stop)

    def _needs_closing(self) -> bool:
        return self._opened_here and (self._private is None or self._private.started)

    def finalize(self) -> None:
        """Best-effort cleanup for a store dropped without ``close()`` (weakref finalizer)."""
        if self._closed:
            return
        try:
            if self._private is not None and self._private.in_thread():
                loop = self._private.loop()
                if self._needs_closing():
                    loop.create_task(_close_then_stop(self.backend, loop))
                else:
                    loop.stop()
                self._closed = True
                return
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown and the like
            log.debug("closing an abandoned Agent Brain vector store failed", exc_info=True)


async def _close_backend(backend: StorageBackendProtocol) -> None:
    await backend.close()


async def _close_then_stop(
    backend: StorageBackendProtocol, loop: asyncio.AbstractEventLoop
) -> None:
    try:
        await backend.close()
    finally:
        loop.stop()


def _is_wrong_loop(exc: RuntimeError) -> bool:
    return "different loop" in str(exc) or "different event loop" in str(exc)


def _wrong_loop(exc: Exception) -> BackendUnavailableError:
    reason = exc.message if isinstance(exc, BackendUnavailableError) else str(exc)
    return BackendUnavailableError(
        f"the backend cannot be used from this vector store's event loop ({reason})",
        hint="if you opened it on another event loop, pass that loop as "
        "loop=asyncio.get_running_loop() when building the store, or pass the backend "
        "unopened (the store opens it on its own loop), or use from_config(...); "
        "otherwise check that its server is reachable",
    )


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a self-contained coroutine to completion from sync code, with or without a
    running loop in this thread (a fresh loop in a worker thread when there is one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class RunnerLifecycle:
    """``close()``/``aclose()`` and both context-manager protocols, for an adapter whose
    backend calls go through ``self._runner`` (shared by the LlamaIndex and LangChain
    stores)."""

    _runner: BackendRunner

    def close(self) -> None:
        """Close the backend if this store opened it, and stop the store's loop."""
        self._runner.close()

    async def aclose(self) -> None:
        await self._runner.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()
