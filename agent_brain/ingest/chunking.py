"""Split prose into overlapping chunks on paragraph, then sentence, then word boundaries.

The text is cut into *units* short enough to leave room for the overlap (at most
``size - overlap - 2`` characters; ``size`` without overlap): whole paragraphs when they
fit, otherwise their sentences, otherwise single words, and as a last resort fixed slices
of an over-long word. Units are packed greedily into chunks of at most ``size``
characters, keeping the whitespace that separated them. Each new chunk starts with the
trailing units of the previous one that fit in ``overlap`` characters; when not even the
last unit fits, it starts with the previous chunk's last ``overlap`` characters, cut at a
word boundary. So neighbouring chunks share context and no chunk exceeds ``size``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent_brain.errors import ConfigError

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(\s+)(?=[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    sep: str
    """The whitespace that preceded this unit in the original text."""


def split_text(text: str, size: int, overlap: int) -> list[str]:
    """Chunks of at most ``size`` characters, consecutive ones sharing up to ``overlap``."""
    if size < 1:
        raise ConfigError(f"ingest.chunk_size must be >= 1, got {size}")
    if not 0 <= overlap < size:
        raise ConfigError(
            f"ingest.chunk_overlap must be >= 0 and smaller than ingest.chunk_size "
            f"({size}), got {overlap}",
            hint="a tenth to a fifth of chunk_size is customary",
        )
    # Units leave room for the overlap, so a chunk can always start with it.
    units = _units(text.strip(), size - overlap - 2 if overlap and size - overlap > 2 else size)
    chunks: list[str] = []
    current: list[_Unit] = []
    length = 0
    for unit in units:
        if current and length + len(unit.sep) + len(unit.text) > size:
            chunks.append(_join(current))
            current = _carry(current, chunks[-1], overlap)
            length = _length(current)
            while current and length + len(unit.sep) + len(unit.text) > size:
                current.pop(0)
                length = _length(current)
        current.append(unit)
        length = _length(current)
    if current:
        chunks.append(_join(current))
    return [c for c in chunks if c.strip()]


def _length(units: list[_Unit]) -> int:
    if not units:
        return 0
    return sum(len(u.sep) + len(u.text) for u in units) - len(units[0].sep)


def _join(units: list[_Unit]) -> str:
    return "".join(u.sep + u.text if i else u.text for i, u in enumerate(units))


def _carry(previous: list[_Unit], joined: str, overlap: int) -> list[_Unit]:
    if overlap == 0:
        return []
    carry: list[_Unit] = []
    total = 0
    for unit in reversed(previous):
        extra = len(unit.text) + (len(carry[0].sep) if carry else 0)
        if total + extra > overlap:
            break
        carry.insert(0, unit)
        total += extra
    if carry:
        return carry
    tail = joined[-overlap:]
    cut = _WHITESPACE.search(tail)
    if cut is not None and cut.end() < len(tail):
        tail = tail[cut.end():]
    return [_Unit(tail, "")] if tail.strip() else []


def _units(text: str, size: int) -> list[_Unit]:
    units: list[_Unit] = []
    position = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        paragraph = text[position:end]
        sep = "\n\n" if units else ""
        if paragraph.strip():
            if len(paragraph) <= size:
                units.append(_Unit(paragraph, sep))
            else:
                units.extend(_sentences(paragraph, size, sep))
        if match:
            position = match.end()
    return units


def _sentences(paragraph: str, size: int, sep: str) -> list[_Unit]:
    out: list[_Unit] = []
    start = 0
    pieces: list[tuple[str, str]] = []
    pending = sep
    for match in _SENTENCE_END.finditer(paragraph):
        pieces.append((paragraph[start:match.start(1)], pending))
        pending = match.group(1)
        start = match.end(1)
    pieces.append((paragraph[start:], pending))
    for sentence, before in pieces:
        if len(sentence) <= size:
            out.append(_Unit(sentence, before))
        else:
            out.extend(_words(sentence, size, before))
    return out


def _words(sentence: str, size: int, sep: str) -> list[_Unit]:
    """Each word is a unit (packing regroups them); a word longer than ``size`` is cut."""
    out: list[_Unit] = []
    position = 0
    pending_sep = sep
    for match in [*_WHITESPACE.finditer(sentence), None]:
        end = match.start() if match else len(sentence)
        word = sentence[position:end]
        if word:
            while len(word) > size:
                out.append(_Unit(word[:size], pending_sep))
                word, pending_sep = word[size:], ""
            out.append(_Unit(word, pending_sep))
        if match:
            pending_sep = match.group(0)
            position = match.end()
    return out
