"""ingest_files over the protocol: deterministic ids, metadata, skip-unchanged, shrink."""

from __future__ import annotations

from pathlib import Path

from agent_brain.config import IngestSettings
from agent_brain.embedders import HashingEmbedder
from agent_brain.ingest import chunk_file, chunk_id, content_hash, ingest_files
from tests.ingest.memory import MemoryBackend

SETTINGS = IngestSettings(chunk_size=120, chunk_overlap=20)


def _write(folder: Path, sentences: int) -> Path:
    path = folder / "notes.md"
    body = " ".join(f"Fact number {i} about retrieval." for i in range(sentences))
    path.write_text(f"# Notes\n\n## Part\n\n{body}\n", encoding="utf-8")
    return path


def test_chunk_file_metadata_and_ids(tmp_path: Path) -> None:
    path = _write(tmp_path, 12)
    chunks = chunk_file(path, SETTINGS)
    assert len(chunks) > 2
    source = path.resolve().as_posix()
    for index, chunk in enumerate(chunks):
        assert chunk.id == chunk_id(source, index)
        assert chunk.embedding is None
        assert chunk.metadata["source"] == source
        assert chunk.metadata["chunk_index"] == index
        assert chunk.metadata["content_hash"] == content_hash(chunk.text)
        assert chunk.metadata["title"] == "Notes"
    assert chunks[-1].metadata["heading"] == "Notes > Part"
    assert chunk_file(path, SETTINGS) == chunks


async def test_reingest_writes_nothing_and_shrinking_removes(tmp_path: Path) -> None:
    backend = MemoryBackend(dimension=32)
    embedder = HashingEmbedder(32)
    path = _write(tmp_path, 12)
    first = await ingest_files(backend, embedder, [path], settings=SETTINGS, batch_size=2)
    assert first.files == 1
    assert first.new == first.chunks == await backend.count()
    assert (first.updated, first.unchanged, first.removed) == (0, 0, 0)
    stored = await backend.get()
    assert all(c.embedding is not None for c in stored)

    writes = len(backend.upserts)
    again = await ingest_files(backend, embedder, [path], settings=SETTINGS)
    assert (again.new, again.updated, again.removed) == (0, 0, 0)
    assert again.unchanged == first.chunks
    assert len(backend.upserts) == writes  # nothing written

    _write(tmp_path, 4)  # shorter: fewer chunks, the first one's text changed too
    shrunk = await ingest_files(backend, embedder, [path], settings=SETTINGS)
    assert shrunk.removed == first.chunks - shrunk.chunks > 0
    assert await backend.count() == shrunk.chunks
    assert {c.id for c in await backend.get()} == {
        c.id for c in chunk_file(path, SETTINGS)}


async def test_changed_chunk_is_updated_and_namespaces_are_separate(tmp_path: Path) -> None:
    backend = MemoryBackend(dimension=16)
    embedder = HashingEmbedder(16)
    path = tmp_path / "a.txt"
    path.write_text("Alpha paragraph.\n\nBeta paragraph.", encoding="utf-8")
    await ingest_files(backend, embedder, [path], namespace="one", settings=SETTINGS)
    path.write_text("Alpha paragraph, edited.\n\nBeta paragraph.", encoding="utf-8")
    report = await ingest_files(backend, embedder, [path], namespace="one", settings=SETTINGS)
    assert (report.new, report.updated, report.unchanged) == (0, 1, 0)
    other = await ingest_files(backend, embedder, [path], namespace="two", settings=SETTINGS)
    assert other.new == 1
    assert await backend.namespaces() == ["one", "two"]


async def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    backend = MemoryBackend(dimension=16)
    missing = tmp_path / "gone.txt"
    report = await ingest_files(backend, HashingEmbedder(16), [missing], settings=SETTINGS)
    assert report.files == 0
    assert report.failed
    assert report.failed[0][0] == str(missing)
