"""load_file: markdown/rst heading paths, front matter, code fences; discover_files."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_brain.errors import InvalidInputError
from agent_brain.ingest import discover_files, load_file

MARKDOWN = """---
title: Front Title
tags: [a]
---
Preamble line.

# Guide

Intro.

## Install

Steps.

```bash
# not a heading
pip install agent-brain
```

### Linux

Apt.

## Search
Setext Heading
--------------

Under setext.
"""


def test_markdown_sections_keep_heading_paths(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    loaded = load_file(path)
    assert loaded.title == "Front Title"
    paths = [s.heading_path for s in loaded.sections]
    assert paths == [(), ("Guide",), ("Guide", "Install"), ("Guide", "Install", "Linux"),
                     ("Guide", "Search"), ("Guide", "Setext Heading")]
    install = loaded.sections[2].text
    assert "# not a heading" in install
    assert install.startswith("## Install")
    assert loaded.sections[0].text == "Preamble line."
    assert "title:" not in "".join(s.text for s in loaded.sections)


def test_markdown_title_falls_back_to_first_h1(tmp_path: Path) -> None:
    path = tmp_path / "a.markdown"
    path.write_text("Intro\n\n# Real Title\n\nBody\n", encoding="utf-8")
    assert load_file(path).title == "Real Title"


def test_rst_headings(tmp_path: Path) -> None:
    path = tmp_path / "doc.rst"
    path.write_text(
        "=====\nTitle\n=====\n\nIntro.\n\nPart A\n------\n\nText A.\n\nSub\n~~~\n\nDeep.\n\n"
        "Part B\n------\n\nText B.\n", encoding="utf-8")
    loaded = load_file(path)
    assert loaded.title == "Title"
    assert [s.heading_path for s in loaded.sections] == [
        ("Title",), ("Title", "Part A"), ("Title", "Part A", "Sub"), ("Title", "Part B")]


def test_text_is_one_section_and_nul_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"one\x00 two\r\nthree \xff")
    loaded = load_file(path)
    assert loaded.title is None
    assert len(loaded.sections) == 1
    assert loaded.sections[0].text == "one two\nthree \ufffd"


def test_discover_skips_hidden_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "docs" / ".git").mkdir(parents=True)
    (tmp_path / "docs" / "sub").mkdir()
    for name in ("docs/a.md", "docs/sub/b.TXT", "docs/sub/c.rst", "docs/.git/d.md",
                 "docs/.hidden.md", "docs/e.pdf", "other.py"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    files, skipped = discover_files([tmp_path / "docs", tmp_path / "other.py",
                                     tmp_path / "docs" / "a.md"])
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "docs/a.md", "docs/sub/b.TXT", "docs/sub/c.rst"]
    assert [f.name for f in skipped] == ["other.py"]


def test_discover_refuses_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        discover_files([tmp_path / "nope"])
