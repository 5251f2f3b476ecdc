"""A small in-memory implementation of the storage protocol for unit tests of code that
sits above the backend boundary (ingest, transfer, eval). Not a reference backend: keyword
search is a plain term-overlap count; only what those callers rely on is faithful."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

import numpy as np

from agent_brain.errors import InvalidInputError
from agent_brain.filters import compile_predicate, parse_filter
from agent_brain.keyword.analyzer import Analyzer
from agent_brain.types import Capabilities, Chunk, NamespaceInfo, SearchResult, StoreInfo
from agent_brain.validation import check_namespace, validate_chunks


class MemoryBackend:
    def __init__(self, dimension: int = 8, location: str = "memory") -> None:
        self.dimension = dimension
        self.location = location
        self.data: dict[str, dict[str, Chunk]] = {}
        self.upserts: list[int] = []
        """Size of every upsert call, to assert that nothing was written."""
        self.deletes = 0
        self._analyzer = Analyzer("english")

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(name="memory", persistent=False, transactional_writes=True,
                            concurrent_processes=False, vector_index="flat")

    async def initialize(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    async def upsert(self, chunks: Sequence[Chunk], namespace: str = "default") -> int:
        check_namespace(namespace)
        batch = validate_chunks(chunks, self.dimension)
        space = self.data.setdefault(namespace, {})
        for chunk, vector in zip(batch.chunks, batch.vectors, strict=True):
            embedding = None if vector is None else vector.astype(np.float32).tolist()
            space[chunk.id] = replace(chunk, embedding=embedding, metadata=dict(chunk.metadata))
        self.upserts.append(len(chunks))
        return len(chunks)

    def _select(self, namespace: str, ids: Sequence[str] | None,
                filters: Any) -> list[Chunk]:
        check_namespace(namespace)
        predicate = compile_predicate(parse_filter(filters))
        space = self.data.get(namespace, {})
        if ids is not None:
            ordered = list(dict.fromkeys(ids))
            chosen = [space[i] for i in ordered if i in space]
        else:
            chosen = [space[i] for i in sorted(space)]
        return [c for c in chosen if predicate(c.metadata)]

    async def get(self, ids: Sequence[str] | None = None, namespace: str = "default",
                  filters: Any = None, limit: int | None = None, offset: int = 0,
                  include_embeddings: bool = True) -> list[Chunk]:
        chosen = self._select(namespace, ids, filters)
        chosen = chosen[offset:] if limit is None else chosen[offset:offset + limit]
        return [replace(c, metadata=dict(c.metadata),
                        embedding=(list(c.embedding) if include_embeddings and c.embedding
                                   is not None else None)) for c in chosen]

    async def delete(self, ids: Sequence[str] | None = None, namespace: str = "default",
                     filters: Any = None) -> int:
        if ids is None and filters is None:
            raise InvalidInputError("delete() needs ids or filters")
        chosen = self._select(namespace, ids, filters)
        for chunk in chosen:
            del self.data[namespace][chunk.id]
        self.deletes += len(chosen)
        return len(chosen)

    async def count(self, namespace: str = "default", filters: Any = None) -> int:
        return len(self._select(namespace, None, filters))

    async def namespaces(self) -> list[str]:
        return sorted(n for n, space in self.data.items() if space)

    async def reset(self, namespace: str = "default") -> None:
        self.data.pop(namespace, None)

    async def vector_search(self, embedding: Sequence[float], top_k: int = 10,
                            namespace: str = "default", filters: Any = None
                            ) -> list[SearchResult]:
        query = np.asarray(embedding, dtype=np.float64)
        query /= np.linalg.norm(query)
        scored = []
        for c in self._select(namespace, None, filters):
            if c.embedding is None:
                continue
            v = np.asarray(c.embedding, dtype=np.float64)
            scored.append(((1 + float(query @ v / np.linalg.norm(v))) / 2, c))
        scored.sort(key=lambda item: (-item[0], item[1].id))
        return [SearchResult(c.id, c.text, dict(c.metadata), s, r, vector_score=s,
                             vector_rank=r)
                for r, (s, c) in enumerate(scored[:top_k], start=1)]

    async def keyword_search(self, query: str, top_k: int = 10, namespace: str = "default",
                             filters: Any = None) -> list[SearchResult]:
        terms = set(self._analyzer.terms(query))
        if not terms:
            return []
        scored = []
        for c in self._select(namespace, None, filters):
            hits = len(terms & set(self._analyzer.terms(c.text)))
            if hits:
                scored.append((hits / len(terms), c))
        scored.sort(key=lambda item: (-item[0], item[1].id))
        return [SearchResult(c.id, c.text, dict(c.metadata), s, r, keyword_score=s,
                             keyword_rank=r)
                for r, (s, c) in enumerate(scored[:top_k], start=1)]

    async def info(self) -> StoreInfo:
        spaces = tuple(
            NamespaceInfo(n, len(self.data[n]),
                          sum(c.embedding is not None for c in self.data[n].values()))
            for n in await self.namespaces()
        )
        return StoreInfo("memory", self.location, None, None, "cosine", "english", spaces)
