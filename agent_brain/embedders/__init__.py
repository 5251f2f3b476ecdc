"""Embedders turn text into vectors for ingestion and queries.

The backends never embed: they store what they are given. Embedders live here so that the
CLI, the integrations and :class:`agent_brain.HybridSearcher` share one choice, made by the
``embedding:`` section of the configuration.
"""

from agent_brain.embedders.base import Embedder, EmbeddingKind
from agent_brain.embedders.factory import load_embedder, recorded_model
from agent_brain.embedders.hashing import HashingEmbedder

__all__ = ["Embedder", "EmbeddingKind", "HashingEmbedder", "load_embedder", "recorded_model"]
