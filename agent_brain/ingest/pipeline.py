"""Keep a namespace in step with files: embed and write only the chunks that changed.

For each file the chunks already stored for its ``source`` are fetched once (without
embeddings); a chunk whose text and metadata (including ``content_hash``) are unchanged is
skipped, so re-ingesting unchanged files writes nothing; chunks the file no longer has
(it got shorter) are deleted. Changed chunks are embedded in batches of
``embedding.batch_size`` and upserted in larger batches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from agent_brain.config import IngestSettings
from agent_brain.embedders.base import Embedder
from agent_brain.ingest.chunking import split_text
from agent_brain.ingest.hashing import chunk_id, content_hash
from agent_brain.ingest.loaders import load_file
from agent_brain.protocol import StorageBackendProtocol
from agent_brain.types import Chunk, Metadata

WRITE_BATCH = 256
"""Chunks per upsert call (each call is all-or-nothing)."""


@dataclass(slots=True)
class IngestReport:
    files: int = 0
    chunks: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    """``(path, reason)`` of files that could not be read."""
    elapsed: float = 0.0

    @property
    def written(self) -> int:
        return self.new + self.updated


def source_of(path: Path) -> str:
    """The ``source`` metadata of a file: its absolute POSIX path, the same from any cwd."""
    return path.resolve().as_posix()


def chunk_file(path: Path, settings: IngestSettings) -> list[Chunk]:
    """The chunks of ``path`` (without embeddings), with deterministic ids and metadata
    ``source``, ``chunk_index``, ``content_hash`` and, when known, ``title``/``heading``."""
    loaded = load_file(path)
    source = source_of(path)
    chunks: list[Chunk] = []
    for section in loaded.sections:
        for text in split_text(section.text, settings.chunk_size, settings.chunk_overlap):
            index = len(chunks)
            metadata: Metadata = {
                "source": source,
                "chunk_index": index,
                "content_hash": content_hash(text),
            }
            if loaded.title:
                metadata["title"] = loaded.title
            if section.heading_path:
                metadata["heading"] = " > ".join(section.heading_path)
            chunks.append(Chunk(chunk_id(source, index), text, None, metadata))
    return chunks


async def ingest_files(
    backend: StorageBackendProtocol,
    embedder: Embedder,
    files: Sequence[Path],
    *,
    namespace: str = "default",
    settings: IngestSettings | None = None,
    batch_size: int = 32,
    on_file: Callable[[Path, IngestReport], None] | None = None,
) -> IngestReport:
    """Ingest ``files`` into ``namespace``; ``on_file`` is called after each file (for
    progress bars) with the running report."""
    settings = settings if settings is not None else IngestSettings()
    report = IngestReport()
    started = time.perf_counter()
    pending: list[Chunk] = []
    for path in files:
        try:
            chunks = chunk_file(path, settings)
        except OSError as exc:
            report.failed.append((str(path), exc.strerror or str(exc)))
            if on_file:
                on_file(path, report)
            continue
        report.files += 1
        report.chunks += len(chunks)
        stored = {
            c.id: c
            for c in await backend.get(
                namespace=namespace, filters={"source": source_of(path)},
                include_embeddings=False,
            )
        }
        for chunk in chunks:
            old = stored.get(chunk.id)
            if old is None:
                report.new += 1
            elif old.text == chunk.text and old.metadata == chunk.metadata:
                report.unchanged += 1
                continue
            else:
                report.updated += 1
            pending.append(chunk)
        stale = sorted(set(stored) - {c.id for c in chunks})
        if stale:
            report.removed += await backend.delete(ids=stale, namespace=namespace)
        if len(pending) >= WRITE_BATCH:
            await _write(backend, embedder, pending, namespace, batch_size)
            pending = []
        if on_file:
            on_file(path, report)
    if pending:
        await _write(backend, embedder, pending, namespace, batch_size)
    report.elapsed = time.perf_counter() - started
    return report


async def _write(
    backend: StorageBackendProtocol,
    embedder: Embedder,
    chunks: list[Chunk],
    namespace: str,
    batch_size: int,
) -> None:
    """Embed ``chunks`` (one ``embed`` call per ``batch_size`` texts) and upsert them."""
    vectors: list[list[float]] = []
    for start in range(0, len(chunks), batch_size):
        batch = chunks[start:start + batch_size]
        vectors.extend(await embedder.embed([c.text for c in batch], kind="document"))
    await backend.upsert(
        [replace(c, embedding=v) for c, v in zip(chunks, vectors, strict=True)],
        namespace=namespace,
    )
