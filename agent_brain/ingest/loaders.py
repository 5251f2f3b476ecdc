"""Read a file into titled sections.

Markdown (``.md``, ``.markdown``) and reStructuredText (``.rst``) are split at their
headings, and every section keeps its heading path (``Guide > Install > Linux``) so chunks
can say where they come from; YAML front matter is dropped (its ``title`` is used). Plain
text is one section. Text is read as UTF-8 (undecodable bytes replaced) and NUL characters
are removed, since no backend can store them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
RST_SUFFIXES = frozenset({".rst"})

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_RST_ADORNMENT = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text under one heading path (empty path: before any heading)."""

    heading_path: tuple[str, ...]
    text: str


@dataclass(slots=True)
class LoadedFile:
    path: Path
    title: str | None
    sections: list[Section] = field(default_factory=list)


def read_text(path: Path) -> str:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


def load_file(path: Path) -> LoadedFile:
    """Read ``path`` and split it into sections according to its suffix."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return _markdown(path, text)
    if suffix in RST_SUFFIXES:
        return _rst(path, text)
    return LoadedFile(path, None, [Section((), text)] if text.strip() else [])


def _front_matter(text: str) -> tuple[str | None, str]:
    if not text.startswith("---\n"):
        return None, text
    end = text.find("\n---", 4)
    if end < 0:
        return None, text
    close = text.find("\n", end + 4)
    body = text[close + 1:] if close >= 0 else ""
    try:
        data = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return None, text
    if not isinstance(data, dict):
        return None, text
    title = data.get("title")
    return (str(title).strip() or None) if title is not None else None, body


class _SectionBuilder:
    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.stack: list[tuple[int, str]] = []
        self.lines: list[str] = []

    def flush(self) -> None:
        text = "\n".join(self.lines).strip("\n")
        if text.strip():
            self.sections.append(Section(tuple(t for _, t in self.stack), text))
        self.lines = []

    def heading(self, level: int, title: str) -> None:
        self.flush()
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        if title:
            self.stack.append((level, title))


def _markdown(path: Path, text: str) -> LoadedFile:
    title, body = _front_matter(text)
    builder = _SectionBuilder()
    fence: str | None = None
    for line in body.split("\n"):
        if fence is not None:
            builder.lines.append(line)
            stripped = line.strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = opening.group(1)
            builder.lines.append(line)
            continue
        atx = _ATX.match(line)
        if atx:
            level, heading = len(atx.group(1)), (atx.group(2) or "").strip()
            builder.heading(level, heading)
            builder.lines.append(line)
            if level == 1 and title is None and heading:
                title = heading
            continue
        setext = _SETEXT.match(line)
        previous = builder.lines[-1] if builder.lines else ""
        before = builder.lines[-2] if len(builder.lines) > 1 else ""
        if (setext and previous.strip() and not _ATX.match(previous)
                and (not before.strip() or _ATX.match(before))):
            heading = previous.strip()
            level = 1 if setext.group(1).startswith("=") else 2
            builder.lines.pop()
            builder.heading(level, heading)
            builder.lines.extend([previous, line])
            if level == 1 and title is None:
                title = heading
            continue
        builder.lines.append(line)
    builder.flush()
    return LoadedFile(path, title, builder.sections)


def _rst(path: Path, text: str) -> LoadedFile:
    """Headings are a text line underlined (optionally also overlined) by a run of one
    punctuation character at least as long as the text; levels follow first appearance."""
    lines = text.split("\n")
    styles: list[tuple[str, bool]] = []
    builder = _SectionBuilder()
    title: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        over = _RST_ADORNMENT.match(line)
        if (over and i + 2 < len(lines) and lines[i + 1].strip()
                and lines[i + 2].strip() == line.strip()
                and len(line.strip()) >= len(lines[i + 1].strip())):
            heading, style, consumed = lines[i + 1].strip(), (line.strip()[0], True), 3
        elif (line.strip() and not over and i + 1 < len(lines)
              and _RST_ADORNMENT.match(lines[i + 1])
              and len(lines[i + 1].strip()) >= len(line.strip())
              and (i == 0 or not lines[i - 1].strip())):
            heading, style, consumed = line.strip(), (lines[i + 1].strip()[0], False), 2
        else:
            builder.lines.append(line)
            i += 1
            continue
        if style not in styles:
            styles.append(style)
        level = styles.index(style) + 1
        builder.heading(level, heading)
        builder.lines.extend(lines[i:i + consumed])
        if title is None and level == 1:
            title = heading
        i += consumed
    builder.flush()
    return LoadedFile(path, title, builder.sections)
