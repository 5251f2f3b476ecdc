"""The embedded default backend over ChromaDB (``storage.backend: chroma``)."""

from agent_brain.backends.chroma.backend import ChromaBackend

__all__ = ["ChromaBackend"]
