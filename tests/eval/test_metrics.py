"""Metrics against values computed by hand (trec_eval conventions)."""

from __future__ import annotations

import math

import pytest

from agent_brain.eval import mean, mrr_at_k, ndcg_at_k, percentile, recall_at_k
from agent_brain.eval.metrics import dcg


def test_dcg_uses_log2_of_rank_plus_one() -> None:
    assert dcg([3, 2, 1]) == pytest.approx(3 / 1 + 2 / math.log2(3) + 1 / 2)


def test_ndcg_graded_with_ideal_from_qrels() -> None:
    # ranked d1 (grade 1), d2 (0), d3 (2): DCG = 1/1 + 0 + 2/log2(4) = 2
    # ideal from qrels: grades 2, 1 -> 2/1 + 1/log2(3) = 2.63093
    qrels = {"d1": 1, "d3": 2}
    assert ndcg_at_k(["d1", "d2", "d3"], qrels, 10) == pytest.approx(2 / (2 + 1 / math.log2(3)))
    assert ndcg_at_k(["d3", "d1"], qrels, 10) == pytest.approx(1.0)


def test_ndcg_ideal_counts_relevant_documents_never_retrieved() -> None:
    # one relevant doc retrieved at rank 1, two more never retrieved
    qrels = {"a": 1, "b": 1, "c": 1}
    expected = 1 / (1 + 1 / math.log2(3) + 1 / 2)
    assert ndcg_at_k(["a", "x", "y"], qrels, 10) == pytest.approx(expected)


def test_ndcg_cutoff_and_edge_cases() -> None:
    qrels = {"r": 1}
    assert ndcg_at_k(["x"] * 0 + [f"n{i}" for i in range(10)] + ["r"], qrels, 10) == 0.0
    assert ndcg_at_k(["n0", "r"], qrels, 10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k([], qrels, 10) == 0.0
    assert ndcg_at_k(["r"], {"r": 0}, 10) == 0.0  # no relevant judgment
    assert ndcg_at_k(["r", "r", "r"], {"r": 1, "s": 1}, 2) == pytest.approx(
        1 / (1 + 1 / math.log2(3)))  # a repeated id counts once


def test_recall() -> None:
    qrels = {"a": 1, "b": 2, "c": 1, "d": 1, "z": 0}
    assert recall_at_k(["a", "x", "c", "z"], qrels, 100) == 0.5
    assert recall_at_k(["x", "a"], qrels, 1) == 0.0
    assert recall_at_k(["a"], {"a": 0}, 100) == 0.0


def test_mrr() -> None:
    qrels = {"b": 1, "c": 1}
    assert mrr_at_k(["a", "x", "c", "b"], qrels, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["b"], qrels, 10) == 1.0
    assert mrr_at_k([f"n{i}" for i in range(10)] + ["b"], qrels, 10) == 0.0
    assert mrr_at_k(["a", "a", "b"], qrels, 2) == 0.5  # duplicates do not take a rank


def test_mean_and_percentile() -> None:
    assert mean([]) == 0.0
    assert mean([1.0, 2.0, 4.0]) == pytest.approx(7 / 3)
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) == 0.0
    with pytest.raises(ValueError, match="q must"):
        percentile([1.0], 101)
