"""The embedder protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

EmbeddingKind = Literal["document", "query"]


@runtime_checkable
class Embedder(Protocol):
    """Async text → vector. ``model_id`` is what the store records as its embedding model,
    so a store embedded with one model refuses queries configured for another."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    async def embed(
        self, texts: Sequence[str], kind: EmbeddingKind = "document"
    ) -> list[list[float]]:
        """One L2-normalised vector per text, in order."""
        ...
