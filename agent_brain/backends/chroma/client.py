"""Synchronous access to Chroma, in batches Chroma accepts. The backend calls every method
here through ``asyncio.to_thread``; nothing in this module is async."""

from __future__ import annotations

import base64
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import chromadb
import numpy as np
from chromadb.config import Settings

from agent_brain.backends.chroma.encoding import (
    STORE_COLLECTION,
    collection_name,
    namespace_of,
)
from agent_brain.config import ChromaSettings
from agent_brain.errors import BackendUnavailableError

T = TypeVar("T")


@dataclass(slots=True)
class Record:
    """One Chroma record as stored (metadata already encoded)."""

    id: str
    document: str
    embedding: list[float] | np.ndarray[Any, Any]
    """A float32 array (handing Chroma arrays spares a Python float per dimension both ways:
    at 100k × 384 that was 38M floats, 1.5 GB of peak memory and seconds of conversion);
    a list only from a journal written by an older version."""
    metadata: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        """For the write journal: the embedding as base64 of its float32 bytes, exact and
        ~10× faster to write than JSON numbers (a journal holds the previous version of
        every replaced chunk: 500 of them were 0.25 s of a 1k-chunk upsert)."""
        vector = np.asarray(self.embedding, dtype="<f4")
        return {"id": self.id, "document": self.document,
                "embedding_f32": base64.b64encode(vector.tobytes()).decode("ascii"),
                "metadata": self.metadata}

    @staticmethod
    def from_json(data: dict[str, Any]) -> Record:
        if "embedding_f32" in data:
            embedding: list[float] | np.ndarray[Any, Any] = np.frombuffer(
                base64.b64decode(data["embedding_f32"]), dtype="<f4")
        else:
            embedding = data["embedding"]
        return Record(data["id"], data["document"], embedding, data["metadata"])


@dataclass(slots=True)
class Hit:
    id: str
    document: str
    metadata: dict[str, Any] | None
    distance: float


class ChromaStore:
    def __init__(self, settings: ChromaSettings) -> None:
        self.settings = settings
        telemetry = Settings(anonymized_telemetry=False, allow_reset=False)
        try:
            if settings.host:
                self.client: Any = chromadb.HttpClient(
                    host=settings.host, port=settings.port, ssl=settings.ssl,
                    tenant=settings.tenant, database=settings.database, settings=telemetry,
                )
                self.client.heartbeat()
            else:
                # Resolved: chromadb caches clients by path string, so a relative path
                # would reopen another folder's data after a chdir.
                self.client = chromadb.PersistentClient(
                    path=str(Path(settings.path).expanduser().resolve()), settings=telemetry,
                    tenant=settings.tenant, database=settings.database,
                )
        except Exception as exc:  # chromadb raises many types for an unreachable server
            where = (f"http{'s' if settings.ssl else ''}://{settings.host}:{settings.port}"
                     if settings.host else settings.path)
            raise BackendUnavailableError(
                f"cannot open Chroma at {where} (tenant {settings.tenant!r}, database "
                f"{settings.database!r}): {exc}",
                hint="check that the server runs and the tenant/database exist"
                if settings.host else "check that the folder is writable",
            ) from exc
        self.max_batch = int(self.client.get_max_batch_size())
        self.version = str(chromadb.__version__)
        self._collections: dict[str, Any] = {}

    # ------------------------------------------------------------------ collections
    def collection(self, namespace: str, create: bool) -> Any | None:
        """The namespace's collection (created when ``create``), or ``None`` if absent."""
        cached = self._collections.get(namespace)
        if cached is not None:
            return cached
        name = collection_name(namespace)
        if create:
            hnsw = self.settings.hnsw
            collection = self.client.get_or_create_collection(
                name,
                configuration={"hnsw": {
                    "space": "cosine", "ef_construction": hnsw.ef_construction,
                    "ef_search": hnsw.ef_search, "max_neighbors": hnsw.max_neighbors,
                }},
                embedding_function=None,
            )
        else:
            try:
                collection = self.client.get_collection(name, embedding_function=None)
            except Exception:  # chromadb raises NotFoundError / ValueError by version
                if name in self.collection_names():
                    raise
                return None
        self._collections[namespace] = collection
        return collection

    def collection_names(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self.client.list_collections()]

    def namespaces(self) -> dict[str, int]:
        """Every namespace collection and its record count."""
        out: dict[str, int] = {}
        for name in self.collection_names():
            namespace = namespace_of(name)
            if namespace is not None:
                collection = self.collection(namespace, create=False)
                out[namespace] = int(collection.count()) if collection is not None else 0
        return out

    def drop(self, namespace: str) -> None:
        self._collections.pop(namespace, None)
        if collection_name(namespace) in self.collection_names():
            self.client.delete_collection(collection_name(namespace))

    # ------------------------------------------------------------------ store metadata
    def store_metadata(self) -> dict[str, Any]:
        if STORE_COLLECTION not in self.collection_names():
            return {}
        collection = self.client.get_collection(STORE_COLLECTION, embedding_function=None)
        return dict(collection.metadata or {})

    def record_store_metadata(self, metadata: dict[str, Any]) -> None:
        collection = self.client.get_or_create_collection(
            STORE_COLLECTION, metadata=metadata, embedding_function=None
        )
        if dict(collection.metadata or {}) != metadata:
            collection.modify(metadata=metadata)

    # ------------------------------------------------------------------ records
    def fetch(
        self, namespace: str, ids: Sequence[str], embeddings: bool = True
    ) -> dict[str, Record]:
        collection = self.collection(namespace, create=False)
        if collection is None or not ids:
            return {}
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        out: dict[str, Record] = {}
        for part in self._batches(ids):
            got = collection.get(ids=list(part), include=include)
            vectors = got.get("embeddings") if embeddings else None
            for i, doc_id in enumerate(got["ids"]):
                vector = (np.zeros(0, dtype="<f4") if vectors is None
                          else np.asarray(vectors[i], dtype="<f4"))
                out[doc_id] = Record(doc_id, got["documents"][i] or "", vector,
                                     got["metadatas"][i])
        return out

    def documents(self, namespace: str, ids: Sequence[str]) -> dict[str, str]:
        """The texts of ``ids`` (absent ids are left out); no metadata, no vectors."""
        collection = self.collection(namespace, create=False)
        if collection is None or not ids:
            return {}
        out: dict[str, str] = {}
        for part in self._batches(ids):
            got = collection.get(ids=list(part), include=["documents"])
            out.update(zip(got["ids"], (d or "" for d in got["documents"]), strict=True))
        return out

    def scan(self, namespace: str, page: int = 2000) -> Iterator[Record]:
        """Every record of a namespace (for rebuilding the keyword index)."""
        collection = self.collection(namespace, create=False)
        if collection is None:
            return
        offset = 0
        while True:
            got = collection.get(include=["documents", "metadatas", "embeddings"],
                                 limit=page, offset=offset)
            if not got["ids"]:
                return
            for i, doc_id in enumerate(got["ids"]):
                yield Record(doc_id, got["documents"][i] or "",
                             np.asarray(got["embeddings"][i], dtype="<f4"), got["metadatas"][i])
            offset += len(got["ids"])

    def upsert(self, namespace: str, records: Sequence[Record],
               new: Collection[str] = frozenset()) -> None:
        """Write ``records``. Those whose id is in ``new`` (known to be absent) go through
        Chroma's ``add``, which skips the existence check of ``upsert`` (~8% faster) but
        silently ignores an id that does exist, so only an embedded store, whose every
        writer holds the process lock and keeps the mirror exact, passes ``new``; against a
        server another client may have written any id, and everything is upserted."""
        if not records:
            return
        collection = self.collection(namespace, create=True)
        assert collection is not None
        if self.settings.host:
            new = frozenset()
        added = [r for r in records if r.id in new] if new else []
        rest = [r for r in records if r.id not in new] if new else list(records)
        for write, group in ((collection.add, added), (collection.upsert, rest)):
            for part in self._batches(group):
                write(
                    ids=[r.id for r in part],
                    embeddings=[r.embedding for r in part],
                    documents=[r.document for r in part],
                    metadatas=[r.metadata for r in part],
                )

    def delete(self, namespace: str, ids: Sequence[str]) -> None:
        collection = self.collection(namespace, create=False)
        if collection is None:
            return
        for part in self._batches(ids):
            collection.delete(ids=list(part))

    def query(
        self, namespace: str, embedding: Sequence[float], n: int, where: dict[str, Any] | None
    ) -> list[Hit]:
        collection = self.collection(namespace, create=False)
        if collection is None:
            return []
        got = collection.query(
            query_embeddings=[list(embedding)], n_results=n, where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit(doc_id, got["documents"][0][i] or "", got["metadatas"][0][i],
                float(got["distances"][0][i]))
            for i, doc_id in enumerate(got["ids"][0])
        ]

    def nearest(
        self, namespace: str, embedding: Sequence[float], n: int, where: dict[str, Any] | None
    ) -> list[tuple[str, float]]:
        """``(id, distance)`` of the ``n`` nearest; no texts or metadata (reading those for
        100 hits costs more than the search itself at 100k chunks)."""
        collection = self.collection(namespace, create=False)
        if collection is None:
            return []
        got = collection.query(query_embeddings=[list(embedding)], n_results=n, where=where,
                               include=["distances"])
        return list(zip(got["ids"][0], map(float, got["distances"][0]), strict=True))

    def _batches(self, items: Sequence[T]) -> Iterator[Sequence[T]]:
        for start in range(0, len(items), self.max_batch):
            yield items[start:start + self.max_batch]
