"""Journaled, all-or-nothing writes across Chroma and the keyword sidecar.

Chroma has no transactions and caps a call at ``max_batch`` records, so a large upsert is
several calls. Each write here: (1) journals the ids it adds and the previous version of
every record it overwrites or removes, (2) writes Chroma, (3) commits the sidecar rows and
drops the journal entry in one SQLite transaction. A failure in (2) or (3) restores Chroma
from the journal before the error propagates; a crash leaves the entry for :func:`recover`
to undo on the next open. These functions are synchronous and run in one worker thread,
so a cancelled caller never interleaves a rollback with a half-sent batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from agent_brain.backends.chroma.client import ChromaStore, Record
from agent_brain.backends.chroma.sidecar import DocRow, JournalEntry, Sidecar
from agent_brain.errors import BackendUnavailableError

log = logging.getLogger(__name__)


def upsert(
    store: ChromaStore,
    sidecar: Sidecar,
    namespace: str,
    records: Sequence[Record],
    rows: Sequence[DocRow],
    existing: Sequence[str],
    empty: bool = False,
) -> None:
    """Write ``records`` (and their sidecar ``rows``); ``existing`` are the ids already
    stored, whose previous versions are journaled for rollback. ``empty``: the namespace
    holds nothing yet (a first load), so every record may be added rather than upserted."""
    old = store.fetch(namespace, existing) if existing else {}
    added = [r.id for r in records if r.id not in old]
    for record in records:
        previous = old.get(record.id)
        if previous is not None and previous.metadata:
            # Chroma merges metadata on upsert; a key set to None is removed instead.
            stale = {key: None for key in previous.metadata
                     if record.metadata is None or key not in record.metadata}
            if stale:
                record.metadata = {**(record.metadata or {}), **stale}
    seq = sidecar.begin(namespace, "upsert",
                        {"added": added, "old": [r.to_json() for r in old.values()]})
    try:
        if empty:
            store.upsert(namespace, records, new=set(added))
        else:
            store.upsert(namespace, records)
        sidecar.commit_upsert(namespace, rows, seq)
    except BaseException as exc:
        _undo(store, sidecar, namespace, seq, added, list(old.values()), exc)
        raise


def delete(store: ChromaStore, sidecar: Sidecar, namespace: str, ids: Sequence[str]) -> None:
    old = store.fetch(namespace, ids)
    seq = sidecar.begin(namespace, "delete", {"old": [r.to_json() for r in old.values()]})
    try:
        store.delete(namespace, ids)
        sidecar.commit_delete(namespace, ids, seq)
    except BaseException as exc:
        _undo(store, sidecar, namespace, seq, [], list(old.values()), exc)
        raise


def reset(store: ChromaStore, sidecar: Sidecar, namespace: str) -> None:
    """Drop a namespace. Journaled so that a crash half-way is finished on the next open."""
    seq = sidecar.begin(namespace, "reset", {})
    store.drop(namespace)
    sidecar.commit_reset(namespace, seq)


def recover(store: ChromaStore, sidecar: Sidecar) -> list[JournalEntry]:
    """Finish or undo every write a crash interrupted (newest first); returns them."""
    entries = sidecar.journal()
    for entry in entries:
        log.warning("agent-brain: undoing an interrupted %s in namespace %r (journal #%d)",
                    entry.op, entry.namespace, entry.seq)
        if entry.op == "reset":
            store.drop(entry.namespace)
            sidecar.commit_reset(entry.namespace, entry.seq)
            continue
        _restore(store, entry.namespace, entry.payload.get("added", []),
                 [Record.from_json(r) for r in entry.payload.get("old", [])])
        sidecar.drop_journal(entry.seq)
    return entries


def _restore(store: ChromaStore, namespace: str, added: Sequence[str],
             old: Sequence[Record]) -> None:
    """Delete what the write touched, then put the previous versions back whole (an upsert
    over a half-written record would merge its metadata keys)."""
    touched = [*added, *(record.id for record in old)]
    if touched:
        store.delete(namespace, touched)
    if old:
        store.upsert(namespace, old)


def _undo(store: ChromaStore, sidecar: Sidecar, namespace: str, seq: int,
          added: Sequence[str], old: Sequence[Record], cause: BaseException) -> None:
    try:
        _restore(store, namespace, added, old)
        sidecar.drop_journal(seq)
    except Exception as exc:
        raise BackendUnavailableError(
            f"a write to namespace {namespace!r} failed ({cause!r}) and undoing it also "
            f"failed ({exc!r}); the journal keeps what is needed to finish the undo",
            hint="close and reopen the store: opening it completes the recovery",
        ) from exc
