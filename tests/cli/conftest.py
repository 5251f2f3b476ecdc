"""CLI fixtures: a temp Chroma store per test, a config file, an in-process runner."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from agent_brain.cli import app

DIM = 32


def write_config(path: Path, store: Path, **embedding: Any) -> Path:
    settings: dict[str, Any] = {"provider": "hash", "dimension": DIM, **embedding}
    path.write_text(yaml.safe_dump({
        "storage": {"backend": "chroma", "chroma": {"path": str(store)}},
        "embedding": settings,
        "ingest": {"chunk_size": 300, "chunk_overlap": 40},
    }), encoding="utf-8")
    return path


def write_docs(root: Path) -> Path:
    (root / "guide" / ".private").mkdir(parents=True)
    (root / "guide" / "guide.md").write_text(
        "# Guide\n\nAgent Brain stores chunks for retrieval.\n\n"
        "## Install\n\nInstall the package with pip, then write a YAML configuration.\n\n"
        "## Search\n\nHybrid search fuses BM25 keyword scores with vector similarity "
        "using reciprocal rank fusion.\n", encoding="utf-8")
    (root / "guide" / "notes.txt").write_text(
        "\n\n".join(f"Paragraph {i}. Volcanoes erupt lava number {i} while glaciers melt "
                    f"slowly in region {i}." for i in range(12)), encoding="utf-8")
    (root / "guide" / "api.rst").write_text(
        "API\n===\n\nThe upsert call writes chunks atomically.\n", encoding="utf-8")
    (root / "guide" / ".private" / "secret.md").write_text("hidden", encoding="utf-8")
    return root / "guide"


@dataclass
class Cli:
    root: Path
    config: Path
    docs: Path
    runner: CliRunner

    def __call__(self, *args: str, config: Path | None = None) -> Result:
        chosen = self.config if config is None else config
        return self.runner.invoke(app, ["--config", str(chosen), *args])

    def bare(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args))

    def store(self, name: str, **embedding: Any) -> Path:
        """Another config naming a fresh store under the test's folder."""
        return write_config(self.root / f"{name}.yaml", self.root / name / "chroma",
                            **embedding)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    for name in list(os.environ):
        if name.startswith("AGENT_BRAIN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "160")  # rich tables wrap to the terminal width
    config = write_config(tmp_path / "agent-brain.yaml", tmp_path / "store" / "chroma")
    return Cli(tmp_path, config, write_docs(tmp_path / "docs"), CliRunner())


Check = Callable[[Result], None]
