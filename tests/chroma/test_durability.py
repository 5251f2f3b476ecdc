"""Chroma backend durability: journaled writes, crash recovery, the sidecar, the process lock.

These exercise what only the embedded backend has (a journal across Chroma and a SQLite
sidecar), so they live here rather than in the backend-agnostic contract suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from agent_brain import Chunk, create_backend
from agent_brain.backends.chroma.client import ChromaStore
from agent_brain.backends.chroma.sidecar import FILE_NAME
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import BackendUnavailableError

DIM = 4
WORDS = ["apple", "river", "stone", "cloud", "forest", "garden", "planet", "window"]


def make_config(path: Path) -> AgentBrainConfig:
    config = AgentBrainConfig()
    config.storage.chroma.path = str(path)
    config.embedding.dimension = DIM
    config.embedding.model = "durability-test"
    return config


def chunk(i: int, version: str = "v1") -> Chunk:
    text = f"{WORDS[i % len(WORDS)]} {WORDS[(i * 3) % len(WORDS)]} {version}"
    vector = [1.0, float(i % 7), float(i % 5) + 0.5, 1.0 if version == "v1" else -1.0]
    return Chunk(f"c{i:05d}", text, vector, {"i": i, "version": version})


async def snapshot(config: AgentBrainConfig) -> dict[str, Any]:
    """Everything observable: chunks, and keyword hits for every word (checks the sidecar)."""
    async with create_backend(config) as backend:
        chunks = await backend.get(include_embeddings=False)
        keyword = {w: [(r.id, round(r.score, 9)) for r in
                       await backend.keyword_search(w, top_k=10_000)] for w in WORDS}
        return {
            "chunks": [(c.id, c.text, c.metadata) for c in chunks],
            "count": await backend.count(),
            "keyword": keyword,
        }


def run_child(config: AgentBrainConfig, *parts: str) -> subprocess.CompletedProcess[str]:
    """Run ``parts`` (code blocks, each dedented) in a fresh interpreter that has
    ``backend`` open on the store."""
    body = "".join(textwrap.dedent(part) for part in parts)
    script = textwrap.dedent("""
        import asyncio, json, os, sys
        from agent_brain import Chunk, create_backend
        from agent_brain.config import AgentBrainConfig
        from agent_brain.backends.chroma.client import ChromaStore
        from agent_brain.backends.chroma.sidecar import Sidecar
        config = AgentBrainConfig.model_validate(json.loads(sys.argv[1]))
        DIM = %d
        def chunk(i, version):
            words = %r
            text = f"{words[i %% len(words)]} {words[(i * 3) %% len(words)]} {version}"
            vector = [1.0, float(i %% 7), float(i %% 5) + 0.5, 1.0 if version == "v1" else -1.0]
            return Chunk(f"c{i:05d}", text, vector, {"i": i, "version": version})
        async def main():
            async with create_backend(config) as backend:
        %s
        asyncio.run(main())
    """) % (DIM, WORDS, textwrap.indent(body, " " * 16))
    return subprocess.run(
        [sys.executable, "-c", script, json.dumps(config.model_dump())],
        capture_output=True, text=True, timeout=300,
    )


async def test_injected_failure_mid_upsert_leaves_store_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Chroma error on the 2nd batch of a large replace undoes the 1st batch.
    If this fails, check writes.upsert's rollback (_undo / _restore)."""
    config = make_config(tmp_path / "store")
    async with create_backend(config) as backend:
        await backend.upsert([chunk(i) for i in range(6000)])
    before = await snapshot(config)

    calls = {"n": 0}
    real_upsert = ChromaStore.upsert

    def failing_upsert(self: ChromaStore, namespace: str, records: Any) -> None:
        collection = self.collection(namespace, create=True)
        original = collection.upsert

        def flaky(**kwargs: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError("disk full (injected)")
            original(**kwargs)

        collection.upsert = flaky
        try:
            real_upsert(self, namespace, records)
        finally:
            collection.upsert = original

    monkeypatch.setattr(ChromaStore, "upsert", failing_upsert)
    async with create_backend(config) as backend:
        new = [chunk(i, "v2") for i in range(5000)] + [chunk(i, "v2") for i in range(6000, 7000)]
        with pytest.raises(OSError, match="injected"):
            await backend.upsert(new)
        assert calls["n"] >= 2  # the 2nd batch failed (a 3rd call is the rollback)
    monkeypatch.setattr(ChromaStore, "upsert", real_upsert)
    assert await snapshot(config) == before


@pytest.mark.parametrize("crash_point", ["after_first_batch", "before_sidecar_commit"])
async def test_crash_mid_write_is_undone_on_reopen(tmp_path: Path, crash_point: str) -> None:
    """A process killed in the middle of a multi-batch replace: on reopen the journal undoes
    the partial write and the keyword index agrees with Chroma.
    If this fails, check writes.recover and the order of journal/Chroma/sidecar writes."""
    config = make_config(tmp_path / "store")
    async with create_backend(config) as backend:
        await backend.upsert([chunk(i) for i in range(3000)])
    before = await snapshot(config)

    if crash_point == "after_first_batch":
        hook = """
            real = ChromaStore.upsert
            def crash(self, namespace, records):
                collection = self.collection(namespace, create=True)
                part = records[:self.max_batch]
                collection.upsert(ids=[r.id for r in part], embeddings=[r.embedding for r in part],
                                  documents=[r.document for r in part],
                                  metadatas=[r.metadata for r in part])
                os._exit(9)
            ChromaStore.upsert = crash
        """
    else:
        hook = """
            def crash(self, namespace, rows, seq):
                os._exit(9)
            Sidecar.commit_upsert = crash
        """
    result = run_child(config, hook, """
        await backend.upsert([chunk(i, "v2") for i in range(0, 8000, 1)])
    """)
    assert result.returncode == 9, result.stderr

    after = await snapshot(config)
    assert after == before
    async with create_backend(config) as backend:
        assert await backend.count(filters={"version": "v2"}) == 0


async def test_keyword_index_rebuilt_when_sidecar_lost(tmp_path: Path) -> None:
    """Deleting the sidecar file loses nothing: reopening rebuilds it from Chroma.
    If this fails, check ChromaBackend._reconcile / _rebuild."""
    config = make_config(tmp_path / "store")
    async with create_backend(config) as backend:
        await backend.upsert([chunk(i) for i in range(200)])
        await backend.upsert([Chunk("noemb", "apple without vector", None, {"k": True})])
        await backend.delete(ids=["c00003"])
    before = await snapshot(config)
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / "store" / (FILE_NAME + suffix)).unlink(missing_ok=True)
    assert await snapshot(config) == before
    async with create_backend(config) as backend:
        hits = await backend.vector_search([1.0, 0.0, 0.5, 1.0], top_k=500)
        assert "noemb" not in {h.id for h in hits}
        assert len(hits) == 199


async def test_second_open_is_refused_in_process_and_across_processes(tmp_path: Path) -> None:
    """One backend per store folder; the lock is released by close() and by process death.
    If this fails, check locks.ProcessLock."""
    config = make_config(tmp_path / "store")
    backend = create_backend(config)
    await backend.initialize()
    try:
        with pytest.raises(BackendUnavailableError, match="already open"):
            await create_backend(config).initialize()
        result = run_child(config, "pass")
        assert result.returncode != 0
        assert "already open" in result.stderr
    finally:
        await backend.close()
    result = run_child(config, """
        await backend.upsert([chunk(1, "v1")])
        os._exit(0)
    """)
    assert result.returncode == 0, result.stderr
    async with create_backend(config) as reopened:
        assert await reopened.count() == 1


async def test_vector_search_skips_many_chunks_without_embeddings(tmp_path: Path) -> None:
    """Hundreds of embedding-less chunks near the query never crowd out the few real ones.
    If this fails, check the no-embedding exclusion and the deepening loop in _nearest."""
    config = make_config(tmp_path / "store")
    async with create_backend(config) as backend:
        await backend.upsert([Chunk(f"n{i}", "plain", None, {"g": i % 2}) for i in range(600)])
        await backend.upsert([chunk(i) for i in range(5)])
        hits = await backend.vector_search([1.0, 1.0, 1.0, 1.0], top_k=10)
        assert sorted(h.id for h in hits) == [f"c{i:05d}" for i in range(5)]
        assert await backend.count() == 605
        assert len(await backend.keyword_search("plain", top_k=1000)) == 600


async def test_reset_is_undone_or_finished_never_half_done(tmp_path: Path) -> None:
    """A crash inside reset() leaves the namespace either whole or gone, never inconsistent.
    If this fails, check the 'reset' journal entry handling in writes.recover."""
    config = make_config(tmp_path / "store")
    async with create_backend(config) as backend:
        await backend.upsert([chunk(i) for i in range(50)], namespace="doomed")
        await backend.upsert([chunk(i) for i in range(7)], namespace="kept")
    result = run_child(config, """
        def crash(self, namespace, seq):
            os._exit(9)
        Sidecar.commit_reset = crash
        await backend.reset("doomed")
    """)
    assert result.returncode == 9, result.stderr
    async with create_backend(config) as backend:
        assert await backend.namespaces() == ["kept"]
        assert await backend.count(namespace="doomed") == 0
        assert await backend.keyword_search("apple", namespace="doomed") == []
        assert await backend.count(namespace="kept") == 7
