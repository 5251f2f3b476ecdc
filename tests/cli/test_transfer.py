"""Transfer logic over the protocol (in-memory backends): JSON-lines round trip, exact
float32 survival, migration with resume and verification."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from agent_brain.errors import InvalidInputError
from agent_brain.transfer import (
    Checkpoint,
    chunk_digest,
    export_jsonl,
    import_jsonl,
    migrate,
    scan_jsonl,
    verify,
)
from agent_brain.transfer import migration as migrate_module
from agent_brain.types import Chunk
from tests.ingest.memory import MemoryBackend

DIM = 8


def _chunks(n: int, seed: int = 0) -> list[Chunk]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        vector = rng.standard_normal(DIM).astype(np.float32).tolist()
        out.append(Chunk(f"c{i:03d}", f"text {i} ünïcode", None if i % 7 == 3 else vector,
                         {"i": i, "f": i / 3, "b": i % 2 == 0, "s": str(i), "one": 1.0}))
    return out


async def _filled(n: int = 23, namespaces: tuple[str, ...] = ("a", "b-c")) -> MemoryBackend:
    backend = MemoryBackend(DIM, location="src")
    for k, ns in enumerate(namespaces):
        await backend.upsert(_chunks(n, seed=k), namespace=ns)
    return backend


def test_json_round_trips_float32_exactly() -> None:
    values = np.random.default_rng(1).standard_normal(10_000).astype(np.float32)
    values[:4] = [np.float32(0.1), np.float32(1e-38), np.float32(3.4e38), np.float32(-0.0)]
    text = json.dumps([float(x) for x in values])
    back = np.asarray(json.loads(text), dtype=np.float32)
    assert back.tobytes() == values.tobytes()


def test_digest_distinguishes_types_and_embeddings() -> None:
    base = Chunk("x", "t", [1.0, 2.0], {"k": 1})
    assert chunk_digest(base) == chunk_digest(Chunk("x", "t", [1.0, 2.0], {"k": 1}))
    for other in (Chunk("x", "t", [1.0, 2.0], {"k": 1.5}),
                  Chunk("x", "t", [1.0, 2.0], {"k": True}),
                  Chunk("x", "t", [1.0, 2.0], {"k": "1"}), Chunk("x", "t", None, {"k": 1}),
                  Chunk("x", "t", [1.0, 2.0000002], {"k": 1}),
                  Chunk("y", "t", [1.0, 2.0], {"k": 1}), Chunk("x", "t ", [1.0, 2.0], {"k": 1})):
        assert chunk_digest(other) != chunk_digest(base), other


async def test_export_import_round_trip(tmp_path: Path) -> None:
    source = await _filled()
    buffer = io.StringIO()
    written = await export_jsonl(source, buffer, ["a", "b-c"], page_size=5)
    assert written == {"a": 23, "b-c": 23}
    path = tmp_path / "dump.jsonl"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    first = json.loads(buffer.getvalue().splitlines()[0])
    assert set(first) == {"id", "text", "embedding", "metadata", "namespace"}

    scan = scan_jsonl(path)
    assert (scan.chunks, scan.namespaces, scan.dimension) == (46, {"a": 23, "b-c": 23}, DIM)
    target = MemoryBackend(DIM)
    assert await import_jsonl(target, path, batch_size=4) == {"a": 23, "b-c": 23}
    for ns in ("a", "b-c"):
        assert [chunk_digest(c) for c in await target.get(namespace=ns)] == [
            chunk_digest(c) for c in await source.get(namespace=ns)]
    renamed = MemoryBackend(DIM)
    # both namespaces hold the same ids: into one namespace, the later line wins
    assert await import_jsonl(renamed, path, namespace="all") == {"all": 46}
    assert await renamed.namespaces() == ["all"]
    assert [chunk_digest(c) for c in await renamed.get(namespace="all")] == [
        chunk_digest(c) for c in await source.get(namespace="b-c")]


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "not valid JSON"),
    ('["a"]', "expected a JSON object"),
    ('{"id": "x", "text": "t", "extra": 1}', "unknown field"),
    ('{"id": 1, "text": "t"}', "must be strings"),
    ('{"id": "x", "text": "t", "embedding": "no"}', "null or a list"),
    ('{"id": "x", "text": "t", "namespace": "bad name"}', "invalid namespace"),
    ('{"id": "x", "text": "t", "metadata": {"k": [1]}}', "metadata"),
    ('{"id": "x", "text": "t", "embedding": [0, 0]}', "all zeros"),
    ('{"id": "x", "text": "t", "embedding": [1, 2, 3]}', "earlier lines 2"),
])
def test_scan_refuses_bad_lines_naming_them(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "text": "t", "embedding": [1, 2]}\n' + line + "\n",
                    encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message) as caught:
        scan_jsonl(path)
    assert f"{path}:2" in caught.value.message


async def test_migrate_copies_and_verifies(tmp_path: Path) -> None:
    source = await _filled()
    target = MemoryBackend(DIM, location="dst")
    state = Checkpoint.open(tmp_path / "cp.json", "src", "dst")
    report = await migrate(source, target, ["a", "b-c"], state, page_size=4)
    assert report.copied == {"a": 23, "b-c": 23}
    checks = await verify(source, target, ["a", "b-c"], page_size=4)
    assert all(c.ok and c.checked == 23 for c in checks)


async def test_migrate_resumes_after_an_interruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = await _filled(n=10, namespaces=("a",))
    target = MemoryBackend(DIM, location="dst")
    path = tmp_path / "cp.json"

    def stop(namespace: str, pages: int) -> None:
        if pages == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(migrate_module, "AFTER_PAGE_HOOK", stop)
    with pytest.raises(KeyboardInterrupt):
        await migrate(source, target, ["a"], Checkpoint.open(path, "src", "dst"), page_size=3)
    assert await target.count(namespace="a") == 6
    saved = json.loads(path.read_text())
    assert saved["namespaces"]["a"] == {"offset": 6, "last_id": "c005", "done": False}

    monkeypatch.setattr(migrate_module, "AFTER_PAGE_HOOK", None)
    writes = len(target.upserts)
    state = Checkpoint.open(path, "src", "dst")
    assert state.resumed
    report = await migrate(source, target, ["a"], state, page_size=3)
    assert report.resumed_from == {"a": 6}
    assert report.copied == {"a": 4}
    assert len(target.upserts) - writes == 2  # pages [6:9] and [9:10] only
    assert all(c.ok for c in await verify(source, target, ["a"]))

    assert not Checkpoint.open(path, "other-source", "dst").resumed  # foreign checkpoint


async def test_resume_restarts_when_the_source_changed(tmp_path: Path) -> None:
    source = await _filled(n=10, namespaces=("a",))
    target = MemoryBackend(DIM, location="dst")
    path = tmp_path / "cp.json"
    state = Checkpoint.open(path, "src", "dst")
    state.state("a").update(offset=6, last_id="not-there")
    state.save()
    report = await migrate(source, target, ["a"], Checkpoint.open(path, "src", "dst"),
                           page_size=3)
    assert report.copied == {"a": 10}
    assert "a" not in report.resumed_from


async def test_verify_reports_missing_different_and_extra() -> None:
    source = await _filled(n=6, namespaces=("a",))
    target = MemoryBackend(DIM, location="dst")
    chunks = await source.get(namespace="a")
    changed = Chunk(chunks[1].id, "tampered", chunks[1].embedding, chunks[1].metadata)
    await target.upsert([chunks[0], changed, *chunks[3:]], namespace="a")
    [check] = await verify(source, target, ["a"])
    assert not check.ok
    assert check.missing == [chunks[2].id]
    assert check.different == [chunks[1].id]
    await target.upsert([chunks[2], chunks[1], Chunk("extra", "x", None, {})], namespace="a")
    [check] = await verify(source, target, ["a"])
    assert not check.ok
    assert check.target_count == check.source_count + 1
    assert check.missing_total == check.different_total == 0
