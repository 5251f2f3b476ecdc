"""Rank fusion as pure functions over typed hits, above the backend boundary.

Both backends hand the same kind of ranked lists to these functions, so hybrid search fuses
identically whichever backend is underneath. Every fused score lies in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Normalization = Literal["minmax", "absolute"]


@dataclass(frozen=True, slots=True)
class Hit:
    """One retriever's verdict on one chunk: its 1-based rank and its score in [0, 1]."""

    id: str
    rank: int
    score: float


@dataclass(frozen=True, slots=True)
class Fused:
    id: str
    score: float


def reciprocal_rank_fusion(legs: Sequence[Sequence[Hit]], k: float) -> list[Fused]:
    """Reciprocal Rank Fusion (Cormack et al., 2009): ``Σ 1 / (k + rank)`` over the legs.

    Divided by the best reachable sum (rank 1 in every leg), so the score is in [0, 1].
    """
    if k <= 0:
        raise ValueError(f"rrf k must be > 0, got {k}")
    totals: dict[str, float] = {}
    for leg in legs:
        for hit in leg:
            totals[hit.id] = totals.get(hit.id, 0.0) + 1.0 / (k + hit.rank)
    best = len(legs) / (k + 1.0) if legs else 1.0
    return _sorted({doc: total / best for doc, total in totals.items()})


def weighted_fusion(
    vector: Sequence[Hit],
    keyword: Sequence[Hit],
    alpha: float,
    normalization: Normalization = "minmax",
) -> list[Fused]:
    """``alpha * vector + (1 - alpha) * keyword``; a chunk missing from a leg scores 0 there.

    ``minmax`` rescales each leg's list to [0, 1] first (the usual convex combination);
    ``absolute`` uses the scores as the backends report them (both already in [0, 1]).
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be within [0, 1], got {alpha}")
    totals: dict[str, float] = {}
    for leg, weight in ((vector, alpha), (keyword, 1.0 - alpha)):
        for doc, score in normalize(leg, normalization).items():
            totals[doc] = totals.get(doc, 0.0) + weight * score
        for hit in leg:
            totals.setdefault(hit.id, 0.0)
    return _sorted(totals)


def normalize(hits: Sequence[Hit], normalization: Normalization) -> dict[str, float]:
    """Each hit's score in [0, 1] under ``normalization``."""
    if not hits:
        return {}
    if normalization == "absolute":
        return {h.id: min(1.0, max(0.0, h.score)) for h in hits}
    low = min(h.score for h in hits)
    high = max(h.score for h in hits)
    if high <= low:
        return {h.id: 1.0 for h in hits}
    span = high - low
    return {h.id: (h.score - low) / span for h in hits}


def _sorted(scores: dict[str, float]) -> list[Fused]:
    return [Fused(doc, score) for doc, score in sorted(scores.items(), key=lambda i: (-i[1], i[0]))]
