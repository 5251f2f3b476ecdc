"""The shipped configuration files: the default one is exactly the defaults, the examples
load (without the environment) and name the backend they illustrate."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_brain.config import AgentBrainConfig, load_config

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_default_config_file_matches_the_defaults() -> None:
    assert load_config(CONFIG / "agent-brain.yaml", environ=False) == AgentBrainConfig()


@pytest.mark.parametrize(("name", "backend"), [
    ("postgres.yaml", "postgres"),
    ("postgres-embedded.yaml", "postgres"),
    ("chroma-server.yaml", "chroma"),
])
def test_examples_load(name: str, backend: str) -> None:
    config = load_config(CONFIG / "examples" / name, environ=False)
    assert config.storage.backend == backend
    text = (CONFIG / "examples" / name).read_text(encoding="utf-8")
    assert text.lstrip().startswith("#")  # commented
