"""Build the embedder the ``embedding:`` configuration asks for."""

from __future__ import annotations

import importlib.util

from agent_brain.config import EmbeddingSettings
from agent_brain.embedders.base import Embedder
from agent_brain.embedders.hashing import HashingEmbedder
from agent_brain.errors import ConfigError


def load_embedder(settings: EmbeddingSettings) -> Embedder:
    """``auto`` is sentence-transformers when that package is installed (a model that then
    fails to load is an error, not a silent fallback) and otherwise the deterministic hashing
    embedder; the returned embedder's ``model_id`` says which one it is. ``openai`` and
    ``ollama`` call an HTTP service (``embedding.base_url``); their vectors must have
    ``embedding.dimension`` components, which is checked on the first reply."""
    provider = settings.provider
    if provider in ("hash", "auto") and settings.dimension < 8:
        raise ConfigError(
            f"embedding.dimension is {settings.dimension}; the hashing embedder (used by "
            f"provider {provider!r}) needs at least 8 dimensions",
            hint="set embedding.dimension: 384 (or the dimension of your model)",
        )
    if provider == "hash":
        return HashingEmbedder(settings.dimension)
    if provider == "auto" and not sentence_transformers_installed():
        return HashingEmbedder(settings.dimension)
    if provider == "none":
        raise ConfigError(
            "embedding.provider is 'none': this configuration computes no vectors (your code "
            "supplies them)",
            hint="choose a provider (auto, hash, sentence-transformers, openai, ollama) for "
            "commands that embed text",
        )
    if provider == "openai":
        from agent_brain.embedders.openai import OpenAIEmbedder

        return OpenAIEmbedder(settings)
    if provider == "ollama":
        from agent_brain.embedders.ollama import OllamaEmbedder

        return OllamaEmbedder(settings)
    if provider in ("sentence-transformers", "auto"):
        embedder = _sentence_transformers(settings)
    else:
        raise ConfigError(
            f"embedding.provider {provider!r} is not available in this build",
            hint="use 'auto', 'hash', 'sentence-transformers', 'openai' or 'ollama'",
        )
    if embedder.dimension != settings.dimension:
        raise ConfigError(
            f"embedding.dimension is {settings.dimension} but {settings.model!r} produces "
            f"{embedder.dimension}-dimensional vectors",
            hint=f"set embedding.dimension: {embedder.dimension}",
        )
    return embedder


def sentence_transformers_installed() -> bool:
    return importlib.util.find_spec("sentence_transformers") is not None


def recorded_model(settings: EmbeddingSettings) -> str:
    """The model id a store written under ``settings`` records: the hashing embedder's id
    for ``hash`` (and for ``auto`` without sentence-transformers), else ``settings.model``.
    Decided without loading anything, so every entry point agrees."""
    if settings.provider == "hash" or (
            settings.provider == "auto" and not sentence_transformers_installed()):
        return HashingEmbedder.model_id_for(settings.dimension)
    return settings.model


def _sentence_transformers(settings: EmbeddingSettings) -> Embedder:
    from agent_brain.embedders.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(
        settings.model, device=settings.device, batch_size=settings.batch_size
    )
