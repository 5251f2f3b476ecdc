"""The keyword index's durable half: a SQLite file beside the Chroma data.

It holds, per namespace and chunk, the analyzed terms, the metadata and whether the chunk
has an embedding, so that reopening a store rebuilds the in-memory BM25 index without
re-reading or re-analyzing the text. Each write updates only the rows of its batch.

It also keeps each chunk's embedding exactly as given (float32 bytes): Chroma's cosine space
hands vectors back re-derived from their unit direction, a few ulps off, so ``get()`` reads
embeddings from here and a store round-trips them bit for bit.

It also holds the write journal that keeps Chroma and this file in step. A write first
records what it is about to change (the ids it adds and the previous version of every chunk
it replaces or deletes), then writes Chroma, then commits its rows here *and* drops its
journal entry in one SQLite transaction. A journal entry found on open is a write that never
finished: the backend restores Chroma to the recorded previous state, so after a crash the
keyword index and the Chroma data agree, and the interrupted write is entirely undone.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_brain.types import Metadata

FILE_NAME = "agent-brain-keyword.sqlite3"
_SEPARATOR = "\x1f"  # never inside a term: the analyzer only emits word characters and . / - @ +

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    namespace TEXT NOT NULL,
    id TEXT NOT NULL,
    terms TEXT NOT NULL,
    metadata TEXT NOT NULL,
    has_embedding INTEGER NOT NULL,
    embedding BLOB,
    PRIMARY KEY (namespace, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    op TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(slots=True)
class DocRow:
    id: str
    terms: list[str]
    metadata: Metadata
    has_embedding: bool
    embedding: bytes | None = None
    """The embedding as little-endian float32 bytes (``None`` when unknown or absent)."""


@dataclass(slots=True)
class JournalEntry:
    seq: int
    namespace: str
    op: str
    """``upsert``, ``delete`` or ``reset``."""
    payload: dict[str, Any]


class Sidecar:
    """Synchronous; the backend calls it from worker threads, one call at a time per lock."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / FILE_NAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(docs)")}
        if "embedding" not in columns:  # a sidecar written before exact embeddings were kept
            self._db.execute("ALTER TABLE docs ADD COLUMN embedding BLOB")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ reads
    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT namespace, COUNT(*) FROM docs GROUP BY namespace"
            ).fetchall()
        return {namespace: count for namespace, count in rows}

    def load(self, namespace: str) -> Iterator[DocRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, terms, metadata, has_embedding FROM docs WHERE namespace = ?",
                (namespace,),
            ).fetchall()
        for doc_id, terms, metadata, has_embedding in rows:
            yield DocRow(doc_id, terms.split(_SEPARATOR) if terms else [],
                         json.loads(metadata), bool(has_embedding))

    def embeddings(self, namespace: str, ids: Iterable[str]) -> dict[str, bytes]:
        """Stored embedding bytes of ``ids`` (ids without one are absent from the result)."""
        ids = list(ids)
        found: dict[str, bytes] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                rows = self._db.execute(
                    "SELECT id, embedding FROM docs WHERE namespace = ? AND embedding IS NOT NULL"
                    f" AND id IN ({','.join('?' * len(part))})",  # placeholders only
                    (namespace, *part),
                ).fetchall()
                found.update((doc_id, bytes(blob)) for doc_id, blob in rows)
        return found

    def journal(self) -> list[JournalEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, namespace, op, payload FROM journal ORDER BY seq DESC"
            ).fetchall()
        return [JournalEntry(seq, ns, op, json.loads(payload)) for seq, ns, op, payload in rows]

    def get_setting(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------------ writes
    def set_setting(self, key: str, value: str) -> None:
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def begin(self, namespace: str, op: str, payload: dict[str, Any]) -> int:
        """Record an intended write durably; returns its journal sequence number."""
        with self._lock, self._transaction():
            cursor = self._db.execute(
                "INSERT INTO journal (namespace, op, payload) VALUES (?, ?, ?)",
                (namespace, op, json.dumps(payload, separators=(",", ":"))),
            )
        seq = cursor.lastrowid
        assert seq is not None
        return seq

    def commit_upsert(self, namespace: str, rows: Iterable[DocRow], seq: int) -> None:
        with self._lock, self._transaction():
            self._db.executemany(
                "INSERT INTO docs (namespace, id, terms, metadata, has_embedding, embedding) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, id) DO UPDATE SET "
                "terms = excluded.terms, metadata = excluded.metadata, "
                "has_embedding = excluded.has_embedding, embedding = excluded.embedding",
                ((namespace, r.id, _SEPARATOR.join(r.terms),
                  json.dumps(r.metadata, separators=(",", ":"), ensure_ascii=False),
                  int(r.has_embedding), r.embedding) for r in rows),
            )
            self._db.execute("DELETE FROM journal WHERE seq = ?", (seq,))

    def commit_delete(self, namespace: str, ids: Iterable[str], seq: int) -> None:
        with self._lock, self._transaction():
            self._db.executemany("DELETE FROM docs WHERE namespace = ? AND id = ?",
                                 ((namespace, doc_id) for doc_id in ids))
            self._db.execute("DELETE FROM journal WHERE seq = ?", (seq,))

    def commit_reset(self, namespace: str, seq: int | None) -> None:
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM docs WHERE namespace = ?", (namespace,))
            if seq is not None:
                self._db.execute("DELETE FROM journal WHERE seq = ?", (seq,))

    def drop_journal(self, seq: int) -> None:
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM journal WHERE seq = ?", (seq,))

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception (re-raised)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
