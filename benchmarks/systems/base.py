"""What every benchmarked system implements, and the timing loops they share.

A system lives in its own worker process (see :mod:`benchmarks.worker`) and answers the
coordinator's commands: ``load`` a dataset into a new table/namespace, ``upsert`` one 1k
batch, run a query set for latency (one client) or throughput (8 concurrent clients), ``drop``
a table. Searches return ids only; the coordinator computes recall and quality from them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.data import Dataset

QueryFn = Callable[[int], Awaitable[list[str]]]
"""Runs query number ``i`` of the dataset, returns the ids found (best first)."""


class System:
    """Base class: override what the system supports."""

    name = "?"
    label = "?"
    family = "?"
    """``postgres``, ``chroma`` or ``keyword`` (in-process BM25 references)."""
    kinds: tuple[str, ...] = ()
    """Search kinds supported: ``vector``, ``keyword``, ``hybrid``."""
    ef_values: tuple[int | None, ...] = (None,)
    """``hnsw.ef_search`` values the vector search can run at (``None``: the system's own)."""
    upserts = True
    sync_queries = False
    """Queries are synchronous calls (run in threads for the 8-client measurement)."""

    def __init__(self, dsn: str | None, workdir: Path) -> None:
        self.dsn = dsn
        self.workdir = workdir

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def load(self, data: Dataset, table: str) -> dict[str, Any]:
        """Load ``data`` into a new ``table``; return ``{"seconds": ...}`` (and extras)."""
        raise NotImplementedError

    async def upsert(self, data: Dataset, table: str, batch: int) -> dict[str, Any]:
        raise NotImplementedError

    async def drop(self, table: str) -> None:
        raise NotImplementedError

    async def size(self, table: str) -> int | None:
        """Bytes on disk for ``table`` (``None``: not measured)."""
        return None

    async def prepare(self, data: Dataset, table: str) -> None:
        """Untimed work after the last load, before searching (e.g. a reference index)."""

    def query(self, data: Dataset, table: str, kind: str, ef: int | None) -> Any:
        """A function of the query index returning ids (async, or sync when
        :attr:`sync_queries`)."""
        raise NotImplementedError


def seconds_since(start: float) -> float:
    return time.perf_counter() - start


async def run_latency(system: System, fn: Any, indices: Sequence[int]
                      ) -> tuple[list[float], list[list[str]]]:
    """One client: each query in turn; per-query seconds and ids."""
    times: list[float] = []
    found: list[list[str]] = []
    for i in indices:
        start = time.perf_counter()
        ids = fn(i) if system.sync_queries else await fn(i)
        times.append(time.perf_counter() - start)
        found.append(list(ids))
    return times, found


async def run_throughput(system: System, fn: Any, indices: Sequence[int], clients: int
                         ) -> float:
    """``clients`` concurrent clients share the queries (each takes the next one when it
    is done); returns queries per second."""
    pending = iter(list(indices))
    lock = threading.Lock()

    def take() -> int | None:
        with lock:
            return next(pending, None)

    start = time.perf_counter()
    if system.sync_queries:
        def client() -> None:
            while (i := take()) is not None:
                fn(i)

        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(clients) as pool:
            await asyncio.gather(*(loop.run_in_executor(pool, client) for _ in range(clients)))
    else:
        async def aclient() -> None:
            while (i := take()) is not None:
                await fn(i)

        await asyncio.gather(*(aclient() for _ in range(clients)))
    return len(indices) / (time.perf_counter() - start)
