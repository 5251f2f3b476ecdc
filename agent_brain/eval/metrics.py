"""Ranking metrics as pure functions, following trec_eval's conventions.

``ranked`` is a list of document ids, best first (a repeated id counts once, at its first
position); ``qrels`` maps document id to graded relevance, and a grade > 0 is relevant.

- nDCG@k: gain = the qrel grade, discount ``log2(rank + 1)``; the ideal DCG is computed from
  the qrels (all relevant documents sorted by grade), not from the retrieved list.
- Recall@k: relevant documents in the top k / all relevant documents.
- MRR@k: 1 / rank of the first relevant document within the top k, else 0.

A query without any relevant document scores 0 on every metric; callers usually skip
such queries (BEIR and trec_eval only evaluate queries that have judgments).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence


def _unique(ranked: Sequence[str], k: int) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for doc in ranked:
        if doc not in seen:
            seen.add(doc)
            out.append(doc)
            if len(out) == k:
                break
    return out


def dcg(gains: Iterable[float]) -> float:
    """``Σ gain_i / log2(i + 1)`` over 1-based positions ``i``."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    best = dcg(ideal)
    if best <= 0:
        return 0.0
    return dcg(max(qrels.get(doc, 0), 0) for doc in _unique(ranked, k)) / best


def recall_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int = 100) -> float:
    relevant = {doc for doc, grade in qrels.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(_unique(ranked, k))) / len(relevant)


def mrr_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    for position, doc in enumerate(_unique(ranked, k), start=1):
        if qrels.get(doc, 0) > 0:
            return 1.0 / position
    return 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between order statistics
    (numpy's default method); 0.0 for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within [0, 100], got {q}")
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
