"""docs/configuration.md documents every configuration key, with its real default."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent_brain.config import AgentBrainConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def leaves(model: type[BaseModel], prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += leaves(annotation, f"{prefix}{name}.")
        else:
            out.append((prefix + name, field.default))
    return out


def cells(line: str) -> list[str]:
    """A markdown table row's cells (``\\|`` is a pipe inside a cell)."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)]


def test_every_key_is_documented_with_its_default() -> None:
    """If this fails, a configuration key was added or its default changed without
    updating docs/configuration.md."""
    rows = {cells(line)[1].strip("`"): cells(line)
            for line in DOC.read_text(encoding="utf-8").splitlines()
            if line.startswith("| `")}
    missing = [key for key, _ in leaves(AgentBrainConfig) if key not in rows]
    assert not missing, f"undocumented keys: {missing}"
    for key, default in leaves(AgentBrainConfig):
        cell = rows[key][3].strip("`")
        if default is None:
            assert cell == "null", (key, cell)
        elif isinstance(default, bool):
            assert cell == str(default).lower(), (key, cell)
        elif isinstance(default, int | float):
            assert float(cell) == float(default), (key, cell, default)
        else:
            assert cell == str(default), (key, cell, default)
