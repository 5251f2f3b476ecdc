"""The examples of docs/rag-pipeline.md run, as written, offline.

A fenced ``python`` block right after a ``<!-- test -->`` line is an example; a fenced block
right after ``<!-- file: NAME -->`` is written to ``NAME`` first. Each example runs in a fresh
folder (its own embedded Chroma store), with no ``AGENT_BRAIN_*`` variables but the Chroma
path, and with network connections refused.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "rag-pipeline.md"
_BLOCK = re.compile(
    r"^<!-- (?P<marker>test|file: (?P<name>[\w./-]+)) -->\n```(?P<lang>\w+)\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Example:
    title: str
    line: int
    code: str


def parse(text: str) -> tuple[dict[str, str], list[Example]]:
    files: dict[str, str] = {}
    examples: list[Example] = []
    for match in _BLOCK.finditer(text):
        if match["name"]:
            files[match["name"]] = match["body"]
            continue
        assert match["lang"] == "python", f"<!-- test --> marks a {match['lang']} block"
        before = text[: match.start()]
        headings = re.findall(r"^#+ (.+)$", before, re.MULTILINE)
        examples.append(Example(headings[-1] if headings else "intro",
                                before.count("\n") + 3, match["body"]))
    return files, examples


FILES, EXAMPLES = parse(DOC.read_text(encoding="utf-8"))


def test_the_page_has_its_examples() -> None:
    """If this fails, a marker was mistyped: each example needs ``<!-- test -->`` on the
    line right above its fence."""
    assert "agent-brain.yaml" in FILES
    assert len(EXAMPLES) >= 4
    assert DOC.read_text(encoding="utf-8").count("<!-- test -->") == len(EXAMPLES)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"the documentation examples must not use the network ({address})")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"line{e.line}")
def test_example_runs(example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      offline: None) -> None:
    for name in list(os.environ):
        if name.startswith("AGENT_BRAIN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # The YAML's relative chroma path, made absolute: chromadb caches clients by the path
    # string, so in one process a relative path would reach the previous example's folder.
    monkeypatch.setenv("AGENT_BRAIN_CHROMA_PATH", str(tmp_path / "agent-brain-data" / "chroma"))
    for name, body in FILES.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    code = compile(example.code, f"{DOC.name}:{example.line} ({example.title})", "exec")
    exec(code, {"__name__": "__main__"})
