"""split_text: size bound, paragraph/sentence/word boundaries, overlap."""

from __future__ import annotations

import itertools
import re

import pytest

from agent_brain.errors import ConfigError
from agent_brain.ingest import split_text


def _prose(paragraphs: int, sentences: int, words: int = 8) -> str:
    out = []
    for p in range(paragraphs):
        out.append(" ".join(
            f"Sentence {p}-{s} " + " ".join(f"w{p}x{s}x{w}" for w in range(words)) + "."
            for s in range(sentences)
        ))
    return "\n\n".join(out)


def test_short_text_is_one_chunk_unchanged() -> None:
    assert split_text("  Hello world.\n\nSecond paragraph.  ", 200, 20) == [
        "Hello world.\n\nSecond paragraph."
    ]


def test_empty_text_has_no_chunks() -> None:
    assert split_text("   \n\n ", 100, 10) == []


@pytest.mark.parametrize(("size", "overlap"), [(120, 0), (120, 30), (300, 60), (57, 10)])
def test_no_chunk_exceeds_size_and_every_sentence_is_kept(size: int, overlap: int) -> None:
    text = _prose(5, 6)
    chunks = split_text(text, size, overlap)
    assert all(len(c) <= size for c in chunks)
    words = set(re.findall(r"w\d+x\d+x\d+", text))
    assert words == set(re.findall(r"w\d+x\d+x\d+", " ".join(chunks)))


def test_paragraphs_that_fit_stay_whole() -> None:
    paragraphs = ["A" * 90 + ".", "B" * 90 + ".", "C" * 90 + "."]
    chunks = split_text("\n\n".join(paragraphs), 200, 0)
    assert chunks == [paragraphs[0] + "\n\n" + paragraphs[1], paragraphs[2]]


def test_long_paragraph_splits_at_sentence_ends() -> None:
    sentences = [f"Sentence number {i} says something rather long here." for i in range(10)]
    chunks = split_text(" ".join(sentences), 120, 0)
    assert len(chunks) > 1
    assert all(c.endswith(".") for c in chunks)
    assert " ".join(chunks) == " ".join(sentences)


def test_overlap_repeats_trailing_sentences() -> None:
    sentences = [f"Sentence {i} is here." for i in range(20)]  # ~20 chars each
    chunks = split_text(" ".join(sentences), 100, 45)
    assert len(chunks) > 3
    for previous, current in itertools.pairwise(chunks):
        shared = [s for s in sentences if s in previous and s in current]
        assert shared, (previous, current)
        assert len(" ".join(shared)) <= 45
        assert previous.endswith(" ".join(shared))
        assert current.startswith(" ".join(shared))
        assert len(current) <= 100


def test_overlap_falls_back_to_characters_at_a_word_boundary() -> None:
    words = " ".join(f"word{i}" for i in range(200))  # one sentence, no boundaries
    chunks = split_text(words, 100, 30)
    assert all(len(c) <= 100 for c in chunks)
    for previous, current in itertools.pairwise(chunks):
        first = current.split()[0]
        assert first in previous.split()[-6:], (previous, current)


def test_word_longer_than_size_is_cut() -> None:
    chunks = split_text("x" * 250, 100, 0)
    assert chunks == ["x" * 100, "x" * 100, "x" * 50]


def test_is_deterministic() -> None:
    text = _prose(4, 5)
    assert split_text(text, 150, 40) == split_text(text, 150, 40)


@pytest.mark.parametrize(("size", "overlap"), [(100, 100), (100, 150), (100, -1), (0, 0)])
def test_bad_sizes_are_config_errors(size: int, overlap: int) -> None:
    with pytest.raises(ConfigError, match="chunk_"):
        split_text("text", size, overlap)
