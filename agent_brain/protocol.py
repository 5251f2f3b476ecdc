"""The storage protocol. Its docstrings are the specification every backend implements and
the contract suite (``contract_tests/``) checks, unchanged, on every backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from agent_brain.types import Capabilities, Chunk, SearchResult, StoreInfo

Filters = Mapping[str, Any]


@runtime_checkable
class StorageBackendProtocol(Protocol):
    """An async store of :class:`~agent_brain.Chunk` s, partitioned into namespaces.

    **Lifecycle.** Build with :func:`agent_brain.create_backend`, then ``await initialize()``
    (idempotent: creates or migrates storage, opens pools, and checks that the embedding
    model, dimension, distance and text-search configuration recorded in the store match the
    configuration, raising :class:`~agent_brain.errors.DimensionMismatchError` or
    :class:`~agent_brain.errors.ConfigError` otherwise). ``await close()`` releases
    everything; backends are async context managers doing both. Nothing blocks the event
    loop. A call on a backend that is not open raises
    :class:`~agent_brain.errors.BackendUnavailableError`.

    **Namespaces.** Every data method takes ``namespace`` (default ``"default"``), a name of
    1-63 characters from ``[A-Za-z0-9_-]``; anything else is an
    :class:`~agent_brain.errors.InvalidInputError`. Namespaces are isolated: nothing written
    in one is ever read, counted, deleted or ranked in another; BM25 statistics (document
    frequencies, average length) are computed per namespace. ``a``, ``a-b`` and ``a_b`` are
    three unrelated namespaces. A namespace exists while it holds at least one chunk.

    **Chunks.** ``id`` is a non-empty string (at most 512 characters, no NUL), unique within
    its namespace; ``text`` a string without NUL; ``embedding`` ``None`` or a sequence of
    finite floats of the store's dimension, not all zero; ``metadata`` a flat dict whose keys
    are non-empty strings not starting with ``$`` and whose values are ``str``, ``int``
    (64-bit), finite ``float`` or ``bool``. Types are kept: ``1``, ``1.0``, ``True`` and
    ``"1"`` come back as they went in. A chunk without embedding is stored, counted, listed
    and found by keyword search; vector search skips it.

    **Filters** (``filters=`` of every reading method and ``delete``) are Mongo/Chroma-style
    dicts, validated before anything runs (a malformed one raises
    :class:`~agent_brain.errors.FilterError` naming the offending part), and answered the
    same way by every backend:

    - ``{"k": v}`` is ``{"k": {"$eq": v}}``; ``$eq``, ``$ne``, ``$gt``, ``$gte``, ``$lt``,
      ``$lte`` take one scalar; ``$in`` / ``$nin`` a list (an empty ``$in`` matches nothing,
      an empty ``$nin`` everything); ``$exists`` ``true`` or ``false``.
    - ``{"$and": [...]}``, ``{"$or": [...]}`` take a non-empty list of filters,
      ``{"$not": {...}}`` one filter; several keys in one dict (or several operators on one
      key) are ANDed. ``None`` and ``{}`` mean no filter.
    - Types are strict: a value equals another only if both are bools, both are strings,
      or both are numbers (``1 == 1.0``; ``True != 1``; ``"1" != 1``). Range operators
      compare numbers with numbers and strings with strings (code-point order, so ISO dates
      work); a range across types, or under a bool, matches nothing (a bool operand is a
      ``FilterError``).
    - A chunk that lacks the key matches ``$ne``, ``$nin``, ``$exists: false`` and the
      ``$not`` of a condition on that key; it matches nothing else.
    - Malformed: an unknown operator, a list or bool under a range operator, a scalar under
      ``$in``, a non-dict under ``$not``, an empty ``$and``/``$or``/operator dict, a key that
      is empty or starts with ``$``, a non-finite number, a non-dict filter.

    **Ordering.** Searches return hits by descending score, ties by id; listings by id.
    """

    @property
    def capabilities(self) -> Capabilities:
        """What this backend supports, as data."""
        ...

    async def initialize(self) -> None:
        """Open the backend; create or migrate storage; check recorded vs configured model.
        Idempotent."""
        ...

    async def close(self) -> None:
        """Release pools, clients, locks and any server this backend started. Idempotent."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def upsert(self, chunks: Sequence[Chunk], namespace: str = "default") -> int:
        """Insert or replace ``chunks``; return how many were written (``len(chunks)``).

        Every chunk is validated first (see *Chunks*; ids unique within the call); on any
        problem an :class:`~agent_brain.errors.InvalidInputError` names the chunk and nothing
        is written. The write is all-or-nothing whatever its size. A replaced chunk takes the
        new text, embedding and metadata entirely (stale metadata keys do not survive). The
        first write records the embedding model, dimension, distance and text-search
        configuration in the store.
        """
        ...

    async def vector_search(
        self,
        embedding: Sequence[float],
        top_k: int = 10,
        namespace: str = "default",
        filters: Filters | None = None,
    ) -> list[SearchResult]:
        """The ``top_k`` chunks nearest to ``embedding`` by cosine similarity.

        ``score == vector_score == (1 + cosine) / 2``, ``rank == vector_rank``. Chunks
        without an embedding are skipped. With filters, returns exactly
        ``min(top_k, matching chunks with an embedding)`` results.
        """
        ...

    async def keyword_search(
        self,
        query: str,
        top_k: int = 10,
        namespace: str = "default",
        filters: Filters | None = None,
    ) -> list[SearchResult]:
        """The ``top_k`` chunks best matching ``query`` by BM25 (OR semantics).

        The query is analyzed like the text (lowercase, English stop words, Snowball
        stemming); a chunk is a hit if it holds at least one query term. BM25 uses
        ``keyword.k1`` / ``keyword.b`` and the namespace's own statistics, with
        ``rank_bm25.BM25Okapi``'s IDF. ``keyword_score`` is the BM25 score divided by the
        largest score the query could reach, in [0, 1]. Any text is a valid query (quotes,
        operators, unicode); one with no indexable term returns ``[]``. With filters, returns
        ``min(top_k, matching hits)`` results.
        """
        ...

    async def get(
        self,
        ids: Sequence[str] | None = None,
        namespace: str = "default",
        filters: Filters | None = None,
        limit: int | None = None,
        offset: int = 0,
        include_embeddings: bool = True,
    ) -> list[Chunk]:
        """Chunks by id (in the order of ``ids``, missing ones skipped, repeats once), or a
        filtered listing ordered by id for stable paging with ``limit``/``offset``. With both
        ``ids`` and ``filters``: the ids that match. ``include_embeddings=False`` returns
        ``embedding=None`` (cheaper)."""
        ...

    async def delete(
        self,
        ids: Sequence[str] | None = None,
        namespace: str = "default",
        filters: Filters | None = None,
    ) -> int:
        """Delete by ids, by filter, or the ids that match the filter; return how many were
        deleted. Neither ``ids`` nor ``filters`` is an InvalidInputError (use :meth:`reset`);
        ``ids=[]`` deletes nothing. All-or-nothing."""
        ...

    async def count(self, namespace: str = "default", filters: Filters | None = None) -> int:
        """How many chunks the namespace holds (that match ``filters``)."""
        ...

    async def namespaces(self) -> list[str]:
        """Sorted names of the namespaces that hold at least one chunk."""
        ...

    async def reset(self, namespace: str = "default") -> None:
        """Remove every chunk of ``namespace`` (and its keyword statistics); other namespaces
        and the store's recorded model are untouched."""
        ...

    async def info(self) -> StoreInfo:
        """What the store records about itself: model, dimension, namespaces and sizes,
        index settings. For ``agent-brain stats`` and ``doctor``."""
        ...
