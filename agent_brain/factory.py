"""Pick a backend by name: ``storage.backend`` in the configuration decides.

Backends are imported lazily from this table, so ``import agent_brain`` pays for neither
chromadb nor asyncpg unless chosen, and a missing extra is a ConfigError with the fix.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agent_brain.config import AgentBrainConfig
from agent_brain.errors import ConfigError

if TYPE_CHECKING:
    from agent_brain.protocol import StorageBackendProtocol

BACKEND_CLASSES: dict[str, str] = {
    "chroma": "agent_brain.backends.chroma:ChromaBackend",
    "postgres": "agent_brain.backends.postgres:PGBackend",
}
EXTRAS: dict[str, str] = {"chroma": "agent-brain", "postgres": "agent-brain[postgres]"}


def backend_class(name: str) -> type[Any]:
    """Import and return the backend class registered under ``name``."""
    try:
        target = BACKEND_CLASSES[name]
    except KeyError:
        raise ConfigError(
            f"storage.backend: unknown backend {name!r}",
            hint="allowed: " + ", ".join(sorted(BACKEND_CLASSES)),
        ) from None
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"the {name!r} backend needs packages that are not installed ({exc.name or exc})",
            hint=f"pip install '{EXTRAS[name]}'",
        ) from exc
    cls: type[Any] = getattr(module, attribute)
    return cls


def create_backend(config: AgentBrainConfig | None = None) -> StorageBackendProtocol:
    """Build (but do not open) the backend the configuration names; ``await
    backend.initialize()`` or ``async with`` it before use.

    The store records the model of ``embedding.provider`` (the hashing embedder's id when
    ``auto`` has no sentence-transformers to use): the same rule the CLI and the adapters
    follow, so every entry point opens a store under the same model. Code that computes its
    own vectors sets ``embedding.provider: none`` and ``embedding.model``.
    """
    from agent_brain.embedders.resolve import store_config

    config = store_config(config if config is not None else AgentBrainConfig())
    backend: StorageBackendProtocol = backend_class(config.storage.backend)(config)
    return backend
