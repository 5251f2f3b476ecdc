"""What the Chroma backend keeps in memory per namespace: the BM25 index, and each chunk's
metadata and embedding flag, so that filters are evaluated exactly (in Python, with the
oracle's semantics) and listings are ordered by id without scanning Chroma."""

from __future__ import annotations

from collections.abc import Iterable

from agent_brain.backends.chroma.sidecar import DocRow
from agent_brain.config import KeywordSettings
from agent_brain.filters import Predicate
from agent_brain.keyword import BM25Index
from agent_brain.types import Metadata


class NamespaceMirror:
    def __init__(self, keyword: KeywordSettings) -> None:
        self.bm25 = BM25Index(keyword.k1, keyword.b, keyword.epsilon)
        self.metadata: dict[str, Metadata] = {}
        self.without_embedding: set[str] = set()
        self._sorted: list[str] | None = None

    def __len__(self) -> int:
        return len(self.metadata)

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self.metadata

    @property
    def with_embedding(self) -> int:
        return len(self.metadata) - len(self.without_embedding)

    def apply_upsert(self, rows: Iterable[DocRow]) -> None:
        rows = list(rows)
        self.bm25.upsert((row.id, row.terms) for row in rows)
        for row in rows:
            self.metadata[row.id] = row.metadata
            if row.has_embedding:
                self.without_embedding.discard(row.id)
            else:
                self.without_embedding.add(row.id)
        self._sorted = None

    def apply_delete(self, ids: Iterable[str]) -> None:
        ids = [doc_id for doc_id in ids if doc_id in self.metadata]
        self.bm25.remove(ids)
        for doc_id in ids:
            del self.metadata[doc_id]
            self.without_embedding.discard(doc_id)
        self._sorted = None

    def sorted_ids(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.metadata)
        return self._sorted

    def matching(self, predicate: Predicate | None, ids: Iterable[str] | None = None) -> list[str]:
        """Ids (in the given order, else sorted) that exist and satisfy ``predicate``."""
        candidates = self.sorted_ids() if ids is None else ids
        metadata = self.metadata
        if predicate is None:
            return [i for i in candidates if i in metadata] if ids is not None else list(
                candidates)
        return [i for i in candidates if i in metadata and predicate(metadata[i])]

    def count(self, predicate: Predicate | None) -> int:
        if predicate is None:
            return len(self.metadata)
        return sum(1 for metadata in self.metadata.values() if predicate(metadata))
