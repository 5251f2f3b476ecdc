"""JSON-lines export and import: one chunk per line,
``{"id", "text", "embedding", "metadata", "namespace"}``.

Embeddings are written as JSON numbers holding the exact value of each stored float32
(Python's shortest round-trip ``repr`` of that double), so an export re-imported gives the
same float32 bits; metadata keeps its types (``1``, ``1.0``, ``true``, ``"1"``). Import
checks the whole file first (JSON, fields, types, one embedding dimension, valid chunks
and namespaces) and writes nothing if any line is wrong; then it writes in batches.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from agent_brain.errors import AgentBrainError, InvalidInputError
from agent_brain.protocol import StorageBackendProtocol
from agent_brain.types import Chunk
from agent_brain.validation import check_namespace, validate_chunks

PAGE_SIZE = 500


async def iter_pages(
    backend: StorageBackendProtocol,
    namespace: str,
    page_size: int = PAGE_SIZE,
    *,
    start: int = 0,
    include_embeddings: bool = True,
) -> AsyncIterator[tuple[int, list[Chunk]]]:
    """``(offset, page)`` over the namespace in id order, from offset ``start``."""
    offset = start
    while True:
        page = await backend.get(namespace=namespace, limit=page_size, offset=offset,
                                 include_embeddings=include_embeddings)
        if not page:
            return
        yield offset, page
        offset += len(page)
        if len(page) < page_size:
            return


def chunk_record(chunk: Chunk, namespace: str) -> dict[str, Any]:
    embedding = None if chunk.embedding is None else [float(x) for x in chunk.embedding]
    return {"id": chunk.id, "text": chunk.text, "embedding": embedding,
            "metadata": chunk.metadata, "namespace": namespace}


async def export_jsonl(
    backend: StorageBackendProtocol,
    handle: TextIO,
    namespaces: Sequence[str],
    *,
    page_size: int = PAGE_SIZE,
    on_chunks: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Write every chunk of ``namespaces`` to ``handle``; return the count per namespace."""
    written: dict[str, int] = {}
    for namespace in namespaces:
        written[namespace] = 0
        async for _, page in iter_pages(backend, namespace, page_size):
            for chunk in page:
                handle.write(json.dumps(chunk_record(chunk, namespace), ensure_ascii=False,
                                        allow_nan=False))
                handle.write("\n")
            written[namespace] += len(page)
            if on_chunks:
                on_chunks(len(page))
    return written


@dataclass(slots=True)
class JsonlScan:
    """What a JSON-lines file holds, found by :func:`scan_jsonl` before anything is written."""

    chunks: int = 0
    namespaces: dict[str, int] = field(default_factory=dict)
    dimension: int | None = None


def _records(path: Path, namespace: str | None) -> Iterator[tuple[int, str, Chunk]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            yield (number, *_parse(path, number, line, namespace))


def _parse(path: Path, number: int, line: str, override: str | None) -> tuple[str, Chunk]:
    where = f"{path}:{number}"
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{where}: not valid JSON ({exc.msg}); nothing was imported",
                                hint="each line must be one JSON object") from None
    if not isinstance(record, dict):
        raise InvalidInputError(f"{where}: expected a JSON object; nothing was imported")
    unknown = sorted(set(record) - {"id", "text", "embedding", "metadata", "namespace"})
    if unknown:
        raise InvalidInputError(
            f"{where}: unknown field(s) {', '.join(unknown)}; nothing was imported",
            hint="allowed fields: id, text, embedding, metadata, namespace",
        )
    chunk_id, text = record.get("id"), record.get("text")
    embedding, metadata = record.get("embedding"), record.get("metadata", {})
    if not isinstance(chunk_id, str) or not isinstance(text, str):
        raise InvalidInputError(f"{where}: 'id' and 'text' must be strings; nothing was "
                                "imported")
    if embedding is not None and (
        not isinstance(embedding, list)
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in embedding)
    ):
        raise InvalidInputError(f"{where}: 'embedding' must be null or a list of numbers; "
                                "nothing was imported")
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"{where}: 'metadata' must be an object; nothing was imported")
    namespace = override if override is not None else record.get("namespace", "default")
    try:
        check_namespace(namespace)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{where}: {exc.message}; nothing was imported",
                                hint=exc.hint) from None
    return str(namespace), Chunk(chunk_id, text, embedding, metadata)


def scan_jsonl(path: Path, namespace: str | None = None) -> JsonlScan:
    """Check every line (as :meth:`upsert` would) and count chunks per namespace."""
    scan = JsonlScan()
    for number, ns, chunk in _records(path, namespace):
        if chunk.embedding is not None:
            length = len(chunk.embedding)
            if scan.dimension is None:
                scan.dimension = length
            elif length != scan.dimension:
                raise InvalidInputError(
                    f"{path}:{number}: embedding has {length} dimensions, earlier lines "
                    f"{scan.dimension}; nothing was imported",
                    hint="a store holds vectors of one model and one dimension",
                )
        try:
            validate_chunks([chunk], len(chunk.embedding or ()) or 1)
        except AgentBrainError as exc:
            raise InvalidInputError(
                f"{path}:{number}: {exc.message.replace('chunks[0]', 'chunk')}",
                hint=exc.hint,
            ) from None
        scan.chunks += 1
        scan.namespaces[ns] = scan.namespaces.get(ns, 0) + 1
    return scan


async def import_jsonl(
    backend: StorageBackendProtocol,
    path: Path,
    *,
    namespace: str | None = None,
    batch_size: int = PAGE_SIZE,
    on_chunks: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Upsert every line of ``path`` (into ``namespace`` if given, else each line's own);
    return the count per namespace. Call :func:`scan_jsonl` first to refuse a bad file
    before anything is written (the CLI does)."""
    batches: dict[str, list[Chunk]] = {}
    ids: dict[str, set[str]] = {}
    written: dict[str, int] = {}

    async def flush(ns: str) -> None:
        batch = batches.pop(ns, [])
        ids.pop(ns, None)
        if batch:
            written[ns] = written.get(ns, 0) + await backend.upsert(batch, namespace=ns)
            if on_chunks:
                on_chunks(len(batch))

    for _, ns, chunk in _records(path, namespace):
        if chunk.id in ids.get(ns, ()):  # a repeated id: the later line wins
            await flush(ns)
        batches.setdefault(ns, []).append(chunk)
        ids.setdefault(ns, set()).add(chunk.id)
        if len(batches[ns]) >= batch_size:
            await flush(ns)
    for ns in list(batches):
        await flush(ns)
    return written
