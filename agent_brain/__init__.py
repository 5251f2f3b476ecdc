"""Agent Brain: one async storage protocol for RAG and agent memory, two backends.

Embedded ChromaDB (the zero-config default) or PostgreSQL + pgvector, chosen by
``storage.backend`` in the YAML, with BM25 keyword search and hybrid fusion that rank the
same on both. Backends are imported lazily, by name, when :func:`create_backend` needs one.
"""

from agent_brain.config import AgentBrainConfig, load_config
from agent_brain.factory import create_backend
from agent_brain.hybrid import HybridSearcher
from agent_brain.protocol import StorageBackendProtocol
from agent_brain.types import Capabilities, Chunk, SearchResult

__version__ = "0.1.0"

__all__ = [
    "AgentBrainConfig",
    "Capabilities",
    "Chunk",
    "HybridSearcher",
    "SearchResult",
    "StorageBackendProtocol",
    "create_backend",
    "load_config",
]
