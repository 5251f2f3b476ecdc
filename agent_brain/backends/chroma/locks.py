"""Two locks: one process per store folder, and readers/writer inside a process."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from agent_brain.errors import BackendUnavailableError

LOCK_FILE = "agent-brain.lock"


class ProcessLock:
    """An exclusive ``flock`` on ``<dir>/agent-brain.lock`` held while the store is open.

    Chroma's embedded HNSW files and our keyword index are not safe for two writers, so a
    second process (or a second open in this one) gets a clear error instead of a corrupted
    store. The kernel drops the lock when the process dies, so a crash never leaves it stale.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_FILE
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise BackendUnavailableError(
                f"the store at {str(self.path.parent)!r} is already open (holder pid "
                f"{holder}); an embedded Chroma store can be opened by one backend at a time",
                hint="close the other backend or process first, or use the PostgreSQL "
                "backend (or a Chroma server) for several processes",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.seek(0)
                self._file.truncate()
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class ReadWriteLock:
    """Many concurrent readers or one writer: a search never sees half of a write."""

    def __init__(self) -> None:
        self._readers = 0
        self._writer = False
        self._condition = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[None]:
        async with self._condition:
            await self._condition.wait_for(lambda: not self._writer)
            self._readers += 1
        try:
            yield
        finally:
            async with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[None]:
        async with self._condition:
            await self._condition.wait_for(lambda: not self._writer)
            self._writer = True  # new readers wait from here on
            try:
                await self._condition.wait_for(lambda: self._readers == 0)
            except BaseException:
                self._writer = False
                self._condition.notify_all()
                raise
        try:
            yield
        finally:
            async with self._condition:
                self._writer = False
                self._condition.notify_all()
