"""A SciFact namespace migrated Chroma → PostgreSQL → Chroma with ``agent-brain migrate``
comes back identical: ids, texts, metadata and embeddings, bit for bit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml
from typer.testing import CliRunner

from agent_brain import create_backend
from agent_brain.cli import app
from agent_brain.config import AgentBrainConfig, load_config
from agent_brain.eval.beir import BeirDataset
from agent_brain.eval.runner import load_corpus
from conftest import shared_postgres

NAMESPACE = "scifact"


def write_config(path: Path, storage: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump({
        "storage": storage,
        "embedding": {"provider": "sentence-transformers", "model": "all-MiniLM-L6-v2",
                      "dimension": 384},
    }), encoding="utf-8")
    return path


async def snapshot(config: AgentBrainConfig) -> list[tuple[object, ...]]:
    async with create_backend(config) as backend:
        chunks = await backend.get(namespace=NAMESPACE)
        return [(c.id, c.text, sorted(c.metadata.items()), c.embedding) for c in chunks]


def migrate(source: Path, target: Path) -> None:
    result = CliRunner().invoke(
        app, ["migrate", "--from", str(source), "--to", str(target)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


async def test_round_trip_through_postgres_is_identical(
    scifact: BeirDataset, tmp_path: Path
) -> None:
    """If this fails, check exact embedding storage on each backend (the Chroma sidecar's
    float32 bytes, pgvector's binary codec) and the migrate command's paging."""
    server = await shared_postgres()
    pg_dsn = await server.create_database()
    try:
        first = write_config(tmp_path / "first.yaml",
                             {"backend": "chroma", "chroma": {"path": str(tmp_path / "a")}})
        middle = write_config(tmp_path / "pg.yaml",
                              {"backend": "postgres", "postgres": {"dsn": pg_dsn}})
        last = write_config(tmp_path / "last.yaml",
                            {"backend": "chroma", "chroma": {"path": str(tmp_path / "b")}})
        source = load_config(first, environ=False)
        async with create_backend(source) as backend:
            await load_corpus(backend, scifact, NAMESPACE, None)
        before = await snapshot(source)
        assert len(before) == len(scifact.corpus)

        # The CLI runs its own event loop: give it a thread of its own.
        await asyncio.to_thread(migrate, first, middle)
        await asyncio.to_thread(migrate, middle, last)

        assert await snapshot(load_config(middle, environ=False)) == before
        assert await snapshot(load_config(last, environ=False)) == before
    finally:
        await server.drop_database(pg_dsn)
