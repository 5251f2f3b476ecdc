"""The SciFact data the quality tests run on (``../shared/data/scifact`` beside the checkout,
or ``AGENT_BRAIN_SCIFACT_DIR``). Without it the tests skip locally and fail in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent_brain.eval.beir import BeirDataset, load_beir
from conftest import require_or_skip

DEFAULT_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "scifact"


def scifact_dir() -> Path:
    return Path(os.environ.get("AGENT_BRAIN_SCIFACT_DIR") or DEFAULT_DIR)


@pytest.fixture(scope="session")
def scifact() -> BeirDataset:
    """SciFact's test split with its precomputed all-MiniLM-L6-v2 embeddings."""
    folder = scifact_dir()
    if not (folder / "corpus.jsonl.gz").is_file():
        require_or_skip(f"SciFact not found at {folder} (set AGENT_BRAIN_SCIFACT_DIR)")
    return load_beir(folder, split="test")
