"""``ChromaBackend``: the zero-config default, over embedded or client/server Chroma.

Chroma stores text, vectors and metadata and answers nearest-neighbour queries. What Chroma
lacks is ours: BM25 keyword search (an in-memory index per namespace, persisted in a SQLite
sidecar), exact filter semantics (a Python predicate over an in-memory copy of the metadata,
with Chroma's ``where`` used only as a sound pre-filter), id-ordered listings, and
all-or-nothing writes (a journal). chromadb is synchronous: every call goes through
:meth:`ChromaBackend._run` (``asyncio.to_thread``), so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import numpy as np

from agent_brain.backends.chroma import writes
from agent_brain.backends.chroma.client import ChromaStore, Record
from agent_brain.backends.chroma.encoding import (
    FORMAT_VERSION,
    NO_EMBEDDING,
    decode_metadata,
    encode_metadata,
    placeholder_vector,
)
from agent_brain.backends.chroma.locks import ProcessLock, ReadWriteLock
from agent_brain.backends.chroma.mirror import NamespaceMirror
from agent_brain.backends.chroma.sidecar import DocRow, Sidecar
from agent_brain.backends.chroma.where import to_where
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import (
    BackendUnavailableError,
    ConfigError,
    DimensionMismatchError,
)
from agent_brain.filters import FilterNode, Predicate, compile_predicate, parse_filter
from agent_brain.fusion import Fused, Hit
from agent_brain.hybrid import Fuse, assemble
from agent_brain.keyword import Analyzer, saturate
from agent_brain.protocol import Filters
from agent_brain.types import (
    Capabilities,
    Chunk,
    Metadata,
    NamespaceInfo,
    SearchResult,
    StoreInfo,
)
from agent_brain.validation import (
    check_delete,
    check_ids,
    check_limit_offset,
    check_namespace,
    check_query_embedding,
    check_query_text,
    check_top_k,
    validate_chunks,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
P = TypeVar("P")
_GROWTH = 4


def _similarity(distance: float) -> float:
    """Chroma's cosine distance (in [0, 2]) as a score in [0, 1]."""
    return min(1.0, max(0.0, 1.0 - distance / 2.0))


def _nearest(
    search: Callable[[int], tuple[int, list[tuple[str, float, P]]]],
    top_k: int, exact: bool, total: int,
) -> list[tuple[str, float, P]]:
    """Ask Chroma for more until ``top_k`` exact matches are in hand, the answer is
    exhausted, and no tie straddles the cut. ``search(n)`` asks for ``n`` neighbours and
    gives how many Chroma returned and those that pass the exact filter, as
    ``(id, score, payload)``; ``exact``: Chroma's ``where`` is the whole filter."""
    n = min(total, top_k + 1 if exact else top_k * _GROWTH)
    while True:
        returned, kept = search(n)
        kept.sort(key=lambda item: (-item[1], item[0]))
        exhausted = returned < n or n >= total
        tied = len(kept) > top_k and kept[top_k - 1][1] == kept[top_k][1]
        if exhausted or (len(kept) >= top_k and not tied):
            return kept[:top_k]
        n = min(total, n * _GROWTH)


class ChromaBackend:
    """The embedded default (``storage.backend: chroma``); see the module docstring."""

    def __init__(self, config: AgentBrainConfig) -> None:
        self.config = config
        self._settings = config.storage.chroma
        self._dimension = config.embedding.dimension
        self._analyzer = Analyzer(config.keyword.analyzer)
        self._store: ChromaStore | None = None
        self._sidecar: Sidecar | None = None
        self._lock: ProcessLock | None = None
        self._rw = ReadWriteLock()
        self._mirrors: dict[str, NamespaceMirror] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self._open_lock = asyncio.Lock()
        self._recorded: dict[str, Any] = {}
        self._location = (
            f"http{'s' if self._settings.ssl else ''}://{self._settings.host}:"
            f"{self._settings.port}/{self._settings.tenant}/{self._settings.database}"
            if self._settings.host else str(Path(self._settings.path).expanduser().resolve())
        )
        self.local_dir = Path(
            self._settings.index_path or self._settings.path).expanduser().resolve()
        """Where the keyword index and the process lock live."""

    # ------------------------------------------------------------------ lifecycle
    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            name="chroma", persistent=True, transactional_writes=True,
            concurrent_processes=bool(self._settings.host), vector_index="hnsw",
        )

    async def initialize(self) -> None:
        async with self._open_lock:
            if self._store is not None:
                return
            lock = ProcessLock(self.local_dir)
            await self._run(lock.acquire)
            try:
                store = await self._run(ChromaStore, self._settings)
                sidecar = await self._run(Sidecar, self.local_dir)
                try:
                    await self._run(writes.recover, store, sidecar)
                    self._recorded = await self._run(store.store_metadata)
                    self._check_recorded()
                    await self._reconcile(store, sidecar)
                except BaseException:
                    await self._run(sidecar.close)
                    raise
            except BaseException:
                await self._run(lock.release)
                raise
            self._store, self._sidecar, self._lock = store, sidecar, lock

    async def close(self) -> None:
        async with self._open_lock:
            if self._store is None:
                return
            async with self._rw.write():
                assert self._sidecar is not None
                assert self._lock is not None
                await self._run(self._sidecar.close)
                await self._run(self._lock.release)
                self._store = self._sidecar = self._lock = None
                self._mirrors.clear()

    async def __aenter__(self) -> Self:
        await self.initialize()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ writes
    async def upsert(self, chunks: Sequence[Chunk], namespace: str = "default") -> int:
        check_namespace(namespace)
        store, sidecar = self._open()
        batch = await self._run(validate_chunks, chunks, self._dimension)
        if not batch.chunks:
            return 0
        texts = [c.text for c in batch.chunks]
        terms = await self._run(self._analyzer.terms_many, texts)
        records, rows = [], []
        for chunk, vector, chunk_terms in zip(batch.chunks, batch.vectors, terms, strict=True):
            has_embedding = vector is not None
            embedding = vector if vector is not None else placeholder_vector(
                chunk.id, self._dimension)
            records.append(Record(chunk.id, chunk.text, embedding,
                                  encode_metadata(chunk.metadata, has_embedding)))
            rows.append(DocRow(chunk.id, chunk_terms, chunk.metadata, has_embedding,
                               vector.astype("<f4").tobytes() if vector is not None else None))
        async with self._rw.write():
            mirror = await self._mirror(namespace)
            existing = [r.id for r in records if r.id in mirror]
            await self._record_store_metadata(store)
            await self._write(writes.upsert, store, sidecar, namespace, records, rows, existing,
                              len(mirror) == 0)
            mirror.apply_upsert(rows)
        return len(records)

    async def delete(
        self,
        ids: Sequence[str] | None = None,
        namespace: str = "default",
        filters: Filters | None = None,
    ) -> int:
        check_namespace(namespace)
        node, wanted = check_delete(ids, filters, namespace)
        store, sidecar = self._open()
        async with self._rw.write():
            mirror = await self._mirror(namespace)
            predicate = None if node is None else compile_predicate(node)
            targets = mirror.matching(predicate, wanted)
            if not targets:
                return 0
            await self._write(writes.delete, store, sidecar, namespace, targets)
            mirror.apply_delete(targets)
        return len(targets)

    async def reset(self, namespace: str = "default") -> None:
        check_namespace(namespace)
        store, sidecar = self._open()
        async with self._rw.write():
            await self._write(writes.reset, store, sidecar, namespace)
            self._mirrors.pop(namespace, None)

    # ------------------------------------------------------------------ reads
    async def vector_search(
        self,
        embedding: Sequence[float],
        top_k: int = 10,
        namespace: str = "default",
        filters: Filters | None = None,
    ) -> list[SearchResult]:
        check_namespace(namespace)
        check_top_k(top_k, self.capabilities.max_top_k)
        vector = check_query_embedding(embedding, self._dimension)
        node = parse_filter(filters)
        store, _ = self._open()
        async with self._rw.read():
            mirror = await self._mirror(namespace)
            if mirror.with_embedding == 0:
                return []
            where, predicate, exact = self._vector_filter(mirror, node)

            def search(n: int) -> tuple[int, list[tuple[str, float, tuple[str, Metadata]]]]:
                raw = store.query(namespace, vector.tolist(), n, where)
                kept = []
                for hit in raw:
                    metadata, has_embedding = decode_metadata(hit.metadata)
                    if has_embedding and (predicate is None or predicate(metadata)):
                        kept.append((hit.id, _similarity(hit.distance), (hit.document, metadata)))
                return len(raw), kept

            hits = await self._run(_nearest, search, top_k, exact, len(mirror))
        return [
            SearchResult(id=doc_id, text=text, metadata=metadata, score=score, rank=rank,
                         vector_score=score, vector_rank=rank)
            for rank, (doc_id, score, (text, metadata)) in enumerate(hits, start=1)
        ]

    async def fused_search(
        self,
        embedding: Sequence[float],
        query: str,
        depth: int,
        top_k: int,
        namespace: str,
        filters: Filters | None,
        fuse: Fuse,
    ) -> list[SearchResult] | None:
        """Hybrid search's hook (see :class:`~agent_brain.HybridSearcher`): both legs as
        :meth:`vector_search` and :meth:`keyword_search` would give them, ``depth`` deep,
        but ranked from the ids alone (metadata and embedding flags from the mirror), under
        one read lock, and texts fetched for the fused ``top_k`` only: at 100k chunks and
        depth 100 this halves a hybrid search. Only embedded stores, whose mirror no other
        writer can make stale; against a server it returns ``None`` (the generic path)."""
        if self._settings.host:
            return None
        check_namespace(namespace)
        vector = check_query_embedding(embedding, self._dimension)
        query = check_query_text(query)
        node = parse_filter(filters)
        store, _ = self._open()
        async with self._rw.read():
            mirror = await self._mirror(namespace)
            if not len(mirror):
                return []
            where, predicate, exact = self._vector_filter(mirror, node)
            known, no_vector = mirror.metadata, mirror.without_embedding

            def search(n: int) -> tuple[int, list[tuple[str, float, None]]]:
                raw = store.nearest(namespace, vector.tolist(), n, where)
                kept = [(doc_id, _similarity(distance), None) for doc_id, distance in raw
                        if doc_id in known and doc_id not in no_vector
                        and (predicate is None or predicate(known[doc_id]))]
                return len(raw), kept

            def legs() -> tuple[list[Hit], list[Hit], list[Fused], dict[str, str]]:
                nearest = (_nearest(search, depth, exact, len(mirror))
                           if mirror.with_embedding else [])
                vector_hits = [Hit(doc_id, rank, score)
                               for rank, (doc_id, score, _) in enumerate(nearest, start=1)]
                keyword_hits = [Hit(doc_id, rank, score) for rank, (doc_id, score)
                                in enumerate(self._bm25(mirror, query, depth, predicate),
                                             start=1)]
                fused = fuse(vector_hits, keyword_hits)[:top_k]
                texts = store.documents(namespace, [f.id for f in fused])
                return vector_hits, keyword_hits, fused, texts

            vector_hits, keyword_hits, fused, texts = await self._run(legs)
            metadata = {f.id: dict(known[f.id]) for f in fused}
        return assemble(vector_hits, keyword_hits, fused, top_k, texts, metadata)

    def _vector_filter(self, mirror: NamespaceMirror, node: FilterNode | None
                       ) -> tuple[dict[str, Any] | None, Predicate | None, bool]:
        """Chroma's ``where`` (a sound pre-filter that also skips chunks stored without an
        embedding), the exact predicate, and whether ``where`` alone is exact."""
        predicate = None if node is None else compile_predicate(node)
        translation = to_where(node)
        where = translation.where
        if mirror.without_embedding:
            skip = {NO_EMBEDDING: {"$ne": True}}
            where = skip if where is None else {"$and": [where, skip]}
        return where, predicate, translation.exact

    async def keyword_search(
        self,
        query: str,
        top_k: int = 10,
        namespace: str = "default",
        filters: Filters | None = None,
    ) -> list[SearchResult]:
        check_namespace(namespace)
        check_top_k(top_k, self.capabilities.max_top_k)
        query = check_query_text(query)
        node = parse_filter(filters)
        store, _ = self._open()
        async with self._rw.read():
            mirror = await self._mirror(namespace)
            if not len(mirror):
                return []
            predicate = None if node is None else compile_predicate(node)
            ranked = await self._run(self._bm25, mirror, query, top_k, predicate)
            if not ranked:
                return []
            # Only the texts come from Chroma: the metadata is the mirror's (what the BM25
            # ranking and the filter already used), copied. Skipping Chroma's metadata
            # decoding makes a top-100 keyword leg of a hybrid search ~0.3 ms faster.
            texts = await self._run(store.documents, namespace, [h[0] for h in ranked])
            metadata = {doc_id: dict(mirror.metadata[doc_id]) for doc_id, _ in ranked}
        results = []
        for rank, (doc_id, score) in enumerate(ranked, start=1):
            results.append(SearchResult(
                id=doc_id, text=texts[doc_id], metadata=metadata[doc_id], score=score,
                rank=rank, keyword_score=score, keyword_rank=rank,
            ))
        return results

    def _bm25(
        self, mirror: NamespaceMirror, query: str, top_k: int, predicate: Predicate | None
    ) -> list[tuple[str, float]]:
        terms = self._analyzer.terms(query)
        if not terms:
            return []
        accept: Callable[[str], bool] | None = None
        if predicate is not None:
            metadata = mirror.metadata

            def accept(doc_id: str) -> bool:
                return predicate(metadata[doc_id])

        hits = mirror.bm25.search(terms, top_k, accept)
        best = mirror.bm25.max_score(terms)
        return [(hit.id, saturate(hit.score, best)) for hit in hits]

    async def get(
        self,
        ids: Sequence[str] | None = None,
        namespace: str = "default",
        filters: Filters | None = None,
        limit: int | None = None,
        offset: int = 0,
        include_embeddings: bool = True,
    ) -> list[Chunk]:
        check_namespace(namespace)
        limit, offset = check_limit_offset(limit, offset)
        wanted = None if ids is None else list(dict.fromkeys(check_ids(ids)))
        node = parse_filter(filters)
        store, sidecar = self._open()
        async with self._rw.read():
            mirror = await self._mirror(namespace)
            predicate = None if node is None else compile_predicate(node)
            targets = mirror.matching(predicate, wanted)
            targets = targets[offset:] if limit is None else targets[offset:offset + limit]
            if not targets:
                return []
            records = await self._run(store.fetch, namespace, targets, False)
            exact: dict[str, bytes] = {}
            if include_embeddings:
                exact = await self._run(sidecar.embeddings, namespace, targets)
                missing = [i for i in targets if i not in exact and i in records
                           and i not in mirror.without_embedding]
                if missing:  # rows from before exact embeddings were kept
                    approximate = await self._run(store.fetch, namespace, missing, True)
                    exact.update((i, np.asarray(r.embedding, dtype="<f4").tobytes())
                                 for i, r in approximate.items())
        chunks = []
        for doc_id in targets:
            record = records.get(doc_id)
            if record is None:  # vanished underneath us (another client of a server)
                continue
            metadata, has_embedding = decode_metadata(record.metadata)
            blob = exact.get(doc_id) if include_embeddings and has_embedding else None
            embedding = np.frombuffer(blob, dtype="<f4").tolist() if blob is not None else None
            chunks.append(Chunk(doc_id, record.document, embedding, metadata))
        return chunks

    async def count(self, namespace: str = "default", filters: Filters | None = None) -> int:
        check_namespace(namespace)
        node = parse_filter(filters)
        self._open()
        async with self._rw.read():
            mirror = await self._mirror(namespace)
            return mirror.count(None if node is None else compile_predicate(node))

    async def namespaces(self) -> list[str]:
        _, sidecar = self._open()
        async with self._rw.read():
            counts = await self._run(sidecar.counts)
        return sorted(name for name, count in counts.items() if count > 0)

    async def info(self) -> StoreInfo:
        store, sidecar = self._open()
        names = await self.namespaces()
        spaces = []
        async with self._rw.read():
            for name in names:
                mirror = await self._mirror(name)
                spaces.append(NamespaceInfo(name, len(mirror), mirror.with_embedding))
        settings = self._settings
        return StoreInfo(
            backend="chroma",
            location=self._location,
            embedding_model=self._recorded.get("model"),
            embedding_dimension=self._recorded.get("dimension"),
            distance="cosine",
            text_search_config=self._analyzer.language,
            namespaces=tuple(spaces),
            settings={
                "mode": "server" if settings.host else "embedded",
                "index": {"kind": "hnsw", **settings.hnsw.model_dump()},
                "keyword_index": str(sidecar.path),
                "bm25": self.config.keyword.model_dump(),
                "chromadb_version": store.version,
                "max_batch": store.max_batch,
            },
        )

    # ------------------------------------------------------------------ internals
    @staticmethod
    async def _run(fn: Callable[..., T], *args: Any) -> T:
        """The one seam between this async backend and synchronous chromadb/SQLite."""
        return await asyncio.to_thread(fn, *args)

    async def _write(self, fn: Callable[..., None], *args: Any) -> None:
        """Run a journaled write to completion even if the caller is cancelled, so that a
        rollback never races a batch still being sent."""
        await asyncio.shield(asyncio.create_task(self._run(fn, *args)))

    def _open(self) -> tuple[ChromaStore, Sidecar]:
        if self._store is None or self._sidecar is None:
            raise BackendUnavailableError(
                "the Chroma backend is not open",
                hint="await backend.initialize() first (or use 'async with backend:')",
            )
        return self._store, self._sidecar

    async def _mirror(self, namespace: str) -> NamespaceMirror:
        mirror = self._mirrors.get(namespace)
        if mirror is not None:
            return mirror
        lock = self._loading.setdefault(namespace, asyncio.Lock())
        async with lock:
            mirror = self._mirrors.get(namespace)
            if mirror is None:
                _, sidecar = self._open()
                mirror = NamespaceMirror(self.config.keyword)
                await self._run(lambda: mirror.apply_upsert(sidecar.load(namespace)))
                self._mirrors[namespace] = mirror
        return mirror

    def _expected_metadata(self) -> dict[str, Any]:
        return {
            "model": self.config.embedding.model,
            "dimension": self._dimension,
            "distance": self.config.embedding.distance,
            "analyzer": self._analyzer.language,
            "format": FORMAT_VERSION,
        }

    def _check_recorded(self) -> None:
        recorded, expected = self._recorded, self._expected_metadata()
        if not recorded:
            return
        if recorded.get("dimension") != expected["dimension"]:
            raise DimensionMismatchError(
                f"this store holds {recorded.get('dimension')}-dimensional embeddings "
                f"(model {recorded.get('model')!r}); the configuration says "
                f"embedding.dimension: {expected['dimension']}",
                hint="configure the stored model and dimension, or point storage.chroma.path "
                "at a new folder for the new model (then re-ingest)",
            )
        for key, setting in (("model", "embedding.model"), ("distance", "embedding.distance"),
                             ("analyzer", "keyword.analyzer")):
            if recorded.get(key) != expected[key]:
                raise ConfigError(
                    f"this store was written with {setting} {recorded.get(key)!r}; the "
                    f"configuration says {expected[key]!r}",
                    hint=f"set {setting}: {recorded.get(key)} to use this store, or use a new "
                    "store for the new setting (and re-ingest)",
                )
        if recorded.get("format") != FORMAT_VERSION:
            raise ConfigError(
                f"this store uses layout version {recorded.get('format')}; this version of "
                f"agent-brain reads version {FORMAT_VERSION}",
                hint="export with the version that wrote it and import into a new store",
            )

    async def _record_store_metadata(self, store: ChromaStore) -> None:
        if not self._recorded:
            expected = self._expected_metadata()
            await self._run(store.record_store_metadata, expected)
            self._recorded = expected

    async def _reconcile(self, store: ChromaStore, sidecar: Sidecar) -> None:
        """Rebuild the keyword rows of any namespace whose sidecar disagrees with Chroma
        (deleted sidecar, data written by another client): the index never lies."""
        in_chroma = await self._run(store.namespaces)
        in_sidecar = await self._run(sidecar.counts)
        for namespace in sorted(set(in_chroma) | set(in_sidecar)):
            if in_chroma.get(namespace, 0) != in_sidecar.get(namespace, 0):
                log.warning("agent-brain: keyword index of namespace %r is out of step with "
                            "Chroma (%d vs %d chunks); rebuilding it from Chroma",
                            namespace, in_sidecar.get(namespace, 0), in_chroma.get(namespace, 0))
                await self._run(self._rebuild, store, sidecar, namespace)

    def _rebuild(self, store: ChromaStore, sidecar: Sidecar, namespace: str) -> None:
        rows = []
        for record in store.scan(namespace):
            metadata, has_embedding = decode_metadata(record.metadata)
            vector = np.asarray(record.embedding, dtype="<f4").tobytes() if has_embedding else None
            rows.append(DocRow(record.id, self._analyzer.terms(record.document), metadata,
                               has_embedding, vector))
        seq = sidecar.begin(namespace, "rebuild", {})
        sidecar.commit_reset(namespace, None)
        sidecar.commit_upsert(namespace, rows, seq)
