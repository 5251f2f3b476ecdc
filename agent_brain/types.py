"""The values that cross the protocol boundary: chunks in, results and capabilities out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MetadataValue = str | int | float | bool
"""A metadata value. ``1``, ``1.0``, ``True`` and ``"1"`` are four different values."""

Metadata = dict[str, MetadataValue]


@dataclass(slots=True)
class Chunk:
    """A unit of retrievable text.

    ``embedding`` may be ``None``: such a chunk is stored, counted, listed and found by
    keyword search, and skipped by vector search. ``metadata`` values are flat scalars; a key
    named ``id`` is ordinary metadata, unrelated to :attr:`id`.
    """

    id: str
    text: str
    embedding: Sequence[float] | None = None
    metadata: Metadata = field(default_factory=dict)


@dataclass(slots=True)
class SearchResult:
    """One hit of a search, with the evidence of each retriever that found it.

    ``score`` is in [0, 1], higher is better, and ``rank`` is 1-based. ``vector_score`` is
    ``(1 + cosine similarity) / 2``; ``keyword_score`` is the BM25 score divided by the
    largest score the query could reach, so a threshold means the same across queries.
    Evidence of a retriever that did not return the chunk is ``None``.
    """

    id: str
    text: str
    metadata: Metadata
    score: float
    rank: int
    vector_score: float | None = None
    keyword_score: float | None = None
    vector_rank: int | None = None
    keyword_rank: int | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend supports, declared as data so callers never test backend classes."""

    name: str
    """Registry name of the backend (``chroma``, ``postgres``)."""
    persistent: bool
    """Data survives ``close()`` and a new process."""
    transactional_writes: bool
    """A multi-chunk upsert or delete is all-or-nothing, whatever its size."""
    concurrent_processes: bool
    """Several processes may open the same store at once."""
    vector_index: str
    """The approximate index behind vector search (``hnsw``, ``ivfflat``)."""
    keyword_ranking: str = "bm25"
    """How keyword hits are ranked."""
    max_top_k: int = 10_000
    """Largest ``top_k`` a search accepts."""
    filter_operators: frozenset[str] = frozenset(
        {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists",
         "$and", "$or", "$not"}
    )
    """Filter operators the backend answers exactly (all of them, on every backend)."""


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    """Size of one namespace, as reported by :meth:`StorageBackendProtocol.info`."""

    name: str
    chunks: int
    chunks_with_embedding: int


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """What a store records about itself: for ``stats``, ``doctor`` and humans."""

    backend: str
    location: str
    """Where the data lives (a path, or a DSN with the password removed)."""
    embedding_model: str | None
    """Model recorded at first write (``None`` while the store is empty)."""
    embedding_dimension: int | None
    distance: str
    text_search_config: str
    namespaces: tuple[NamespaceInfo, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Backend-specific details: index kind and parameters, versions, paths."""
