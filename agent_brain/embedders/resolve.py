"""Which model a store is opened under, decided in one place for every tool that embeds.

A store records ``embedding.model`` at its first write and refuses another model later. The
CLI, the eval runner and the framework adapters embed for the user, so they open stores
under the id of the embedder they actually use (``agent-brain/hashing-v1-384`` when the
``auto`` provider falls back to the offline hashing embedder), never under a model name
that did not produce the vectors. Code that writes its own vectors sets ``embedding.model``
itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent_brain.config import AgentBrainConfig
from agent_brain.embedders.base import Embedder
from agent_brain.embedders.factory import load_embedder, recorded_model
from agent_brain.embedders.hashing import HashingEmbedder


@dataclass(slots=True)
class ResolvedEmbedding:
    """The embedder a configuration resolves to, and the configuration the store is
    opened with: ``embedding.model`` is the embedder's ``model_id`` (what the store
    records), so a store embedded by one model refuses another."""

    embedder: Embedder
    config: AgentBrainConfig
    label: str
    fallback: bool
    """The ``auto`` provider fell back to the offline hashing embedder."""


def resolve_embedding(config: AgentBrainConfig) -> ResolvedEmbedding:
    embedder = load_embedder(config.embedding)
    effective = config.model_copy(deep=True)
    effective.embedding.model = embedder.model_id
    effective.embedding.dimension = embedder.dimension
    fallback = isinstance(embedder, HashingEmbedder) and config.embedding.provider == "auto"
    return ResolvedEmbedding(embedder, effective, describe_embedder(config, embedder), fallback)


def store_config(config: AgentBrainConfig) -> AgentBrainConfig:
    """``config`` with ``embedding.model`` set to what the store records
    (:func:`~agent_brain.embedders.factory.recorded_model`); loads no model."""
    model = recorded_model(config.embedding)
    if model == config.embedding.model:
        return config
    effective = config.model_copy(deep=True)
    effective.embedding.model = model
    return effective


def describe_embedder(config: AgentBrainConfig, embedder: Embedder) -> str:
    provider = config.embedding.provider
    if isinstance(embedder, HashingEmbedder):
        if provider == "auto":
            return (f"{embedder.model_id} (OFFLINE HASHING FALLBACK: {config.embedding.model} "
                    "is not available, so vectors match words, not meaning; "
                    "pip install 'agent-brain[embeddings]')")
        return f"{embedder.model_id} (hashing embedder, offline, lexical only)"
    kind = {"auto": "sentence-transformers"}.get(provider, provider)
    return f"{embedder.model_id} ({kind}, {embedder.dimension} dimensions)"
