"""Copy chunks, embeddings included, from one store to another; resumable and verified.

**Copy.** Each namespace is read from the source in pages ordered by id
(``get(limit, offset)``) and each page is upserted into the target (one all-or-nothing
write per page). Upserts are idempotent, so copying a page twice is harmless.

**Resume.** After every page a checkpoint file records, per namespace, the next source
offset and the last id copied (written atomically: temporary file + rename). Re-running the
same migration resumes after that id; if the source no longer has that id at that offset
(it changed), the namespace is copied again from the start. The checkpoint names the source
and target stores, so a checkpoint of another migration is ignored. It is deleted once the
migration has been verified.

**Verify.** Per namespace: equal counts, then every source chunk (paged by id) is looked up
by id in the target and their :func:`~agent_brain.transfer.digest.chunk_digest` compared
(id, text, canonical metadata, float32 embedding bytes). Lookups by id make the check
independent of how each backend collates ids; equal counts plus every source id present
means the target holds nothing extra. Both backends keep embeddings bit for bit, so a
faithful copy has the same digest: there is no tolerance.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_brain.errors import InvalidInputError
from agent_brain.protocol import StorageBackendProtocol
from agent_brain.transfer.digest import chunk_digest
from agent_brain.transfer.jsonl import PAGE_SIZE, iter_pages

CHECKPOINT_VERSION = 1
AFTER_PAGE_HOOK: Callable[[str, int], None] | None = None
"""Test seam: called with ``(namespace, pages copied so far)`` after each page is written
and checkpointed (tests raise ``KeyboardInterrupt`` here to simulate an interruption)."""


@dataclass(slots=True)
class Checkpoint:
    path: Path
    source: str
    target: str
    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    resumed: bool = False
    """Whether this checkpoint was read from an earlier, interrupted run."""

    @classmethod
    def open(cls, path: Path, source: str, target: str) -> Checkpoint:
        """The checkpoint at ``path`` if it belongs to this source/target pair, else a
        fresh one (an unreadable or foreign file is ignored and later overwritten)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(path, source, target)
        if (not isinstance(data, dict) or data.get("version") != CHECKPOINT_VERSION
                or data.get("source") != source or data.get("target") != target
                or not isinstance(data.get("namespaces"), dict)):
            return cls(path, source, target)
        return cls(path, source, target, dict(data["namespaces"]), resumed=True)

    def state(self, namespace: str) -> dict[str, Any]:
        return self.namespaces.setdefault(namespace,
                                          {"offset": 0, "last_id": None, "done": False})

    def save(self) -> None:
        payload = {"version": CHECKPOINT_VERSION, "source": self.source,
                   "target": self.target, "namespaces": self.namespaces}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(payload, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass(slots=True)
class NamespaceCheck:
    namespace: str
    source_count: int
    target_count: int
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    """Source ids absent from the target (first few)."""
    different: list[str] = field(default_factory=list)
    """Ids whose content hash differs (first few)."""
    missing_total: int = 0
    different_total: int = 0

    @property
    def ok(self) -> bool:
        return (self.source_count == self.target_count and self.missing_total == 0
                and self.different_total == 0)


@dataclass(slots=True)
class MigrationReport:
    copied: dict[str, int] = field(default_factory=dict)
    resumed_from: dict[str, int] = field(default_factory=dict)
    """Source offset each namespace resumed from (only namespaces that resumed)."""
    checks: list[NamespaceCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


async def source_namespaces(
    source: StorageBackendProtocol, namespace: str | None
) -> list[str]:
    if namespace is None:
        return sorted(await source.namespaces())
    if await source.count(namespace=namespace) == 0:
        raise InvalidInputError(
            f"the source store has no chunks in namespace {namespace!r}",
            hint="run `agent-brain --config SOURCE stats` to see its namespaces",
        )
    return [namespace]


async def migrate(
    source: StorageBackendProtocol,
    target: StorageBackendProtocol,
    namespaces: Sequence[str],
    checkpoint: Checkpoint,
    *,
    page_size: int = PAGE_SIZE,
    on_page: Callable[[str, int], None] | None = None,
) -> MigrationReport:
    """Copy ``namespaces`` from ``source`` to ``target``, resuming from ``checkpoint``;
    ``on_page(namespace, chunks)`` reports progress. Does not verify (see :func:`verify`)."""
    report = MigrationReport()
    pages = 0
    for namespace in namespaces:
        state = checkpoint.state(namespace)
        report.copied[namespace] = 0
        if state["done"]:
            report.resumed_from[namespace] = int(state["offset"])
            continue
        start = int(state["offset"])
        if start and not await _same_prefix(source, namespace, start, state["last_id"]):
            start = 0
        if start:
            report.resumed_from[namespace] = start
        async for offset, page in iter_pages(source, namespace, page_size, start=start):
            await target.upsert(page, namespace=namespace)
            report.copied[namespace] += len(page)
            state.update(offset=offset + len(page), last_id=page[-1].id)
            checkpoint.save()
            pages += 1
            if on_page:
                on_page(namespace, len(page))
            if AFTER_PAGE_HOOK is not None:
                AFTER_PAGE_HOOK(namespace, pages)
        state["done"] = True
        checkpoint.save()
    return report


async def _same_prefix(
    source: StorageBackendProtocol, namespace: str, offset: int, last_id: object
) -> bool:
    probe = await source.get(namespace=namespace, limit=1, offset=offset - 1,
                             include_embeddings=False)
    return bool(probe) and probe[0].id == last_id


async def verify(
    source: StorageBackendProtocol,
    target: StorageBackendProtocol,
    namespaces: Sequence[str],
    *,
    page_size: int = PAGE_SIZE,
    on_page: Callable[[str, int], None] | None = None,
    keep: int = 5,
) -> list[NamespaceCheck]:
    """Compare counts and per-chunk content hashes of ``namespaces`` on both stores."""
    checks: list[NamespaceCheck] = []
    for namespace in namespaces:
        check = NamespaceCheck(namespace, await source.count(namespace=namespace),
                               await target.count(namespace=namespace))
        async for _, page in iter_pages(source, namespace, page_size):
            copies = {c.id: c for c in await target.get(ids=[c.id for c in page],
                                                         namespace=namespace)}
            for chunk in page:
                copy = copies.get(chunk.id)
                if copy is None:
                    check.missing_total += 1
                    if len(check.missing) < keep:
                        check.missing.append(chunk.id)
                elif chunk_digest(copy) != chunk_digest(chunk):
                    check.different_total += 1
                    if len(check.different) < keep:
                        check.different.append(chunk.id)
            check.checked += len(page)
            if on_page:
                on_page(namespace, len(page))
        checks.append(check)
    return checks
