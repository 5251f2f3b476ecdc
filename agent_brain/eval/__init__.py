"""Retrieval evaluation on BEIR-format datasets: loading, metrics, and a runner that loads a
corpus into any backend and measures every search mode."""

from agent_brain.eval.beir import BeirDataset, load_beir
from agent_brain.eval.metrics import mean, mrr_at_k, ndcg_at_k, percentile, recall_at_k

__all__ = [
    "BeirDataset",
    "load_beir",
    "mean",
    "mrr_at_k",
    "ndcg_at_k",
    "percentile",
    "recall_at_k",
]
