"""BM25 keyword search: one analyzer (PostgreSQL ``english`` semantics) and an in-memory
index for backends that have no BM25 of their own."""

from agent_brain.keyword.analyzer import Analyzer
from agent_brain.keyword.bm25 import BM25Index, KeywordHit, saturate

__all__ = ["Analyzer", "BM25Index", "KeywordHit", "saturate"]
