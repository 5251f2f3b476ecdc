"""Tune the retrieval defaults on a BEIR train split (never the test queries).

    python benchmarks/tune_quality.py ../shared/data/scifact [--split train]

Both backends rank alike (same analyzer, same BM25, same fusion above the backend), so the
search is simulated in-process with the library's own pieces — the analyzer and BM25Index
for the keyword leg, exact cosine over the precomputed embeddings for the vector leg, and
agent_brain.fusion for hybrid — which makes a grid of hundreds of settings cheap. Results
go to stdout and to benchmarks/results/tuning-<dataset>-<split>.json; docs/quality.md
explains the chosen defaults.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from agent_brain.eval.beir import load_beir
from agent_brain.eval.metrics import mean, ndcg_at_k, recall_at_k
from agent_brain.fusion import Hit, reciprocal_rank_fusion, weighted_fusion
from agent_brain.keyword import Analyzer, BM25Index, saturate

K1 = (0.6, 0.9, 1.2, 1.5)
B = (0.4, 0.5, 0.65, 0.75, 0.9)
ALPHA = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
CANDIDATES = (20, 50, 100, 200)
RRF_K = (1, 2, 3, 5, 10, 20, 40, 60)
NORMALIZATION = ("minmax", "absolute")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--split", default="train")
    args = parser.parse_args()
    data = load_beir(args.dataset, split=args.split)
    assert data.corpus_embeddings is not None, "the folder needs precomputed embeddings"
    ids = [d.id for d in data.corpus]
    query_ids = [q for q in data.queries if q in data.query_embeddings]
    print(f"{data.name}/{args.split}: {len(ids)} documents, {len(query_ids)} queries")

    analyzer = Analyzer()
    doc_terms = [analyzer.terms(d.content) for d in data.corpus]
    query_terms = {q: analyzer.terms(data.queries[q]) for q in query_ids}
    corpus = data.corpus_embeddings / np.linalg.norm(data.corpus_embeddings, axis=1,
                                                     keepdims=True)
    depth = max(CANDIDATES)
    vector_legs: dict[str, list[Hit]] = {}
    for q in query_ids:
        query = data.query_embeddings[q] / np.linalg.norm(data.query_embeddings[q])
        sims = corpus @ query
        top = np.argsort(-sims, kind="stable")[:depth]
        vector_legs[q] = [Hit(ids[i], r, (1 + float(sims[i])) / 2)
                          for r, i in enumerate(top, start=1)]

    results: dict[str, Any] = {"dataset": data.name, "split": args.split,
                               "queries": len(query_ids), "keyword": [], "hybrid": []}
    dense = mean([ndcg_at_k([h.id for h in vector_legs[q]], data.qrels[q]) for q in query_ids])
    results["vector_ndcg10"] = dense
    print(f"vector nDCG@10 {dense:.4f}")

    started = time.perf_counter()
    keyword_legs: dict[tuple[float, float], dict[str, list[Hit]]] = {}
    for k1, b in itertools.product(K1, B):
        index = BM25Index(k1, b)
        index.upsert(zip(ids, doc_terms, strict=True))
        legs = {}
        for q in query_ids:
            terms = query_terms[q]
            best = index.max_score(terms)
            legs[q] = [Hit(h.id, r, saturate(h.score, best))
                       for r, h in enumerate(index.search(terms, depth), start=1)]
        keyword_legs[(k1, b)] = legs
        ndcg = mean([ndcg_at_k([h.id for h in legs[q]], data.qrels[q]) for q in query_ids])
        recall = mean([recall_at_k([h.id for h in legs[q]], data.qrels[q])
                       for q in query_ids])
        results["keyword"].append({"k1": k1, "b": b, "ndcg10": ndcg, "recall100": recall})
    best_kw = max(results["keyword"], key=lambda r: r["ndcg10"])
    print(f"keyword grid ({time.perf_counter() - started:.0f} s): best {best_kw}")

    for (k1, b), legs in keyword_legs.items():
        for candidates in CANDIDATES:
            def fused(fuse: Any, q: str, legs: Any = legs, candidates: int = candidates
                      ) -> list[str]:
                return [f.id for f in fuse(vector_legs[q][:candidates], legs[q][:candidates])]

            for rrf_k in RRF_K:
                score = mean([ndcg_at_k(fused(
                    lambda v, k, rrf_k=rrf_k: reciprocal_rank_fusion((v, k), rrf_k), q),
                    data.qrels[q]) for q in query_ids])
                results["hybrid"].append({"fusion": "rrf", "k1": k1, "b": b,
                                          "candidates": candidates, "rrf_k": rrf_k,
                                          "ndcg10": score})
            for alpha, norm in itertools.product(ALPHA, NORMALIZATION):
                score = mean([ndcg_at_k(fused(
                    lambda v, k, a=alpha, n=norm: weighted_fusion(v, k, a, n), q),
                    data.qrels[q]) for q in query_ids])
                results["hybrid"].append({"fusion": "weighted", "k1": k1, "b": b,
                                          "candidates": candidates, "alpha": alpha,
                                          "normalization": norm, "ndcg10": score})
    for fusion in ("rrf", "weighted"):
        rows = sorted((r for r in results["hybrid"] if r["fusion"] == fusion),
                      key=lambda r: -r["ndcg10"])
        print(f"{fusion}: top 5")
        for row in rows[:5]:
            print("   ", row)
    out = Path(__file__).parent / "results" / f"tuning-{data.name}-{args.split}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
