"""One benchmarked system per process, driven by the coordinator over a pipe.

Each system runs in its own process so that its memory is its own (peak RSS per phase comes
from the kernel's high-water mark, reset before every command through
``/proc/self/clear_refs``), and so that no system warms another's Python caches. The
coordinator sends one command at a time and waits, so the systems never run concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import multiprocessing
import os
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

SYSTEMS = {
    "pg_raw": "benchmarks.systems.pg_raw:PGRaw",
    "pg_ours": "benchmarks.systems.agent_brain:PGOurs",
    "llamaindex": "benchmarks.systems.peers:LlamaIndexPG",
    "langchain": "benchmarks.systems.peers:LangChainPG",
    "chroma_raw": "benchmarks.systems.embedded:ChromaRaw",
    "chroma_ours": "benchmarks.systems.agent_brain:ChromaOurs",
    "bm25s": "benchmarks.systems.embedded:BM25S",
    "rank_bm25": "benchmarks.systems.embedded:RankBM25",
}


def system_class(name: str) -> Any:
    module, _, attr = SYSTEMS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def _status(field: str) -> int:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status, in bytes (0 where unavailable)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _serve(conn: Connection, name: str, dsn: str | None, workdir: str) -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from benchmarks.data import Dataset
    from benchmarks.systems.base import run_latency, run_throughput

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    system = system_class(name)(dsn, Path(workdir))
    datasets: dict[str, Dataset] = {}
    baseline = 0

    async def handle(command: str, args: dict[str, Any]) -> Any:
        nonlocal baseline
        if command == "describe":
            return {"label": system.label, "family": system.family, "kinds": system.kinds,
                    "ef_values": system.ef_values, "upserts": system.upserts}
        if command == "open":
            await system.open()
            return None
        path = args.pop("dataset", None)
        data = None
        if path is not None:
            if path not in datasets:
                datasets.clear()
                gc.collect()
                datasets[path] = Dataset.load(Path(path))
                baseline = _status("VmRSS")
            data = datasets[path]
        if command == "data":
            return None
        if command == "load":
            return await system.load(data, **args)
        if command == "upsert":
            return await system.upsert(data, **args)
        if command == "prepare":
            return await system.prepare(data, **args)
        if command == "drop":
            return await system.drop(**args)
        if command == "size":
            return await system.size(**args)
        if command == "latency":
            fn = system.query(data, args["table"], args["kind"], args.get("ef"))
            times, ids = await run_latency(system, fn, args["indices"])
            return {"times": times, "ids": ids}
        if command == "throughput":
            fn = system.query(data, args["table"], args["kind"], args.get("ef"))
            return {"qps": await run_throughput(system, fn, args["indices"], args["clients"])}
        if command == "close":
            await system.close()
            return None
        raise ValueError(f"unknown command {command!r}")

    while True:
        message = conn.recv()
        if message is None:
            break
        command, args = message
        gc.collect()
        _reset_peak()
        before = _status("VmRSS")
        try:
            value = loop.run_until_complete(handle(command, dict(args)))
            conn.send({"ok": True, "value": value, "rss_before": before,
                       "rss_peak": max(_status("VmHWM"), before), "rss_baseline": baseline})
        except BaseException as exc:  # report and keep serving
            conn.send({"ok": False, "error": f"{type(exc).__name__}: {exc}",
                       "traceback": traceback.format_exc()})
    try:
        loop.run_until_complete(system.close())
    finally:
        loop.close()


class Worker:
    """The coordinator's handle on one system's process."""

    def __init__(self, name: str, dsn: str | None, workdir: Path) -> None:
        self.name = name
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, name, dsn, str(workdir)),
                                        name=f"bench-{name}", daemon=True)
        self._process.start()
        child.close()
        self.info = self.call("describe")["value"]

    def call(self, command: str, **args: Any) -> dict[str, Any]:
        self._conn.send((command, args))
        reply: dict[str, Any] = self._conn.recv()
        return reply

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            self._conn.send(None)
        self._process.join(60)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(10)
