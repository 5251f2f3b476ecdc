"""The analyzer: PostgreSQL ``english`` behaviour on the token kinds prose is made of (as its
docstring documents), and a fast path for plain words that gives exactly what the general
tokenizer gives."""

from __future__ import annotations

import random

import pytest

from agent_brain.keyword import Analyzer
from agent_brain.keyword.analyzer import _NOT_WORD
from agent_brain.keyword.stopwords import ENGLISH_STOP_WORDS

ENGLISH = [
    ("The quick brown foxes are running", ["quick", "brown", "fox", "run"]),
    ("running", ["run"]),
    ("COVID-19", ["covid", "-19"]),
    ("COVID-19 vaccines", ["covid", "-19", "vaccin"]),
    ("t-cells", ["t-cell", "cell"]),
    ("CD4+ T-cells", ["cd4", "t-cell", "cell"]),
    ("MDA-MB-231", ["mda-mb", "mda", "mb", "231"]),
    ("mmp-1", ["mmp", "-1"]),
    ("IL-1β", ["il-1β", "il", "1β"]),
    ("state-of-the-art", ["state-of-the-art", "state", "art"]),
    ("e.g.", ["e.g"]),
    ("e.g. the U.S. economy", ["e.g", "u.s", "economi"]),
    ("10mg/kg", ["10mg/kg"]),
    ("10mg/kg daily", ["10mg/kg", "daili"]),
    ("/ml", ["/ml"]),
    ("foo@bar.com", ["foo@bar.com"]),
    ("mail Foo.Bar@Example.org now", ["mail", "foo.bar@example.org"]),
    ("www.example.com", ["www.example.com"]),
    ("cd4 h2o", ["cd4", "h2o"]),
    ("2019 0.05 1e-5 -19", ["2019", "0.05", "1e-5", "-19"]),
    ("p < 0.05", ["p", "0.05"]),
    ("x²y", ["x", "y"]),  # superscripts separate, as in PostgreSQL's parser
    ("3½ cups", ["3", "cup"]),  # so do vulgar fractions
    ("naïve café", ["naïv", "café"]),
    ("ÉCOLE", ["école"]),
    ("東京 tokyo", ["東京", "tokyo"]),
    ("Hello, world!", ["hello", "world"]),
    ("(see Fig. 3)", ["see", "fig", "3"]),
    ("\u201cquoted\u201d", ["quot"]),
    ("don't stop", ["stop"]),  # don and t are both stop words
    ("it's", []),
    ("a_b", ["b"]),
    ("the and of to", []),
    ("", []),
    ("   \t\n ", []),
    ("?!.,;", []),
]


@pytest.mark.parametrize(("text", "terms"), ENGLISH, ids=[t for t, _ in ENGLISH])
def test_english_terms(text: str, terms: list[str]) -> None:
    assert Analyzer().terms(text) == terms


SIMPLE = [
    ("The quick brown foxes are running", ["the", "quick", "brown", "foxes", "are", "running"]),
    ("t-cells", ["t-cells", "t", "cells"]),
    ("COVID-19 and the U.S.", ["covid", "-19", "and", "the", "u.s"]),
    ("don't", ["don", "t"]),
]


@pytest.mark.parametrize(("text", "terms"), SIMPLE, ids=[t for t, _ in SIMPLE])
def test_simple_keeps_stop_words_and_does_not_stem(text: str, terms: list[str]) -> None:
    assert Analyzer("simple").terms(text) == terms


def test_every_stop_word_is_dropped_in_any_case() -> None:
    analyzer = Analyzer()
    for word in sorted(ENGLISH_STOP_WORDS):
        assert analyzer.terms(word) == [], word
        assert analyzer.terms(word.upper() + ",") == [], word
        assert Analyzer("simple").terms(word) == [word]


def test_stop_word_list_is_postgresql_english() -> None:
    assert len(ENGLISH_STOP_WORDS) == 127
    assert {"i", "the", "s", "t", "don", "now", "should"} <= ENGLISH_STOP_WORDS
    assert "computer" not in ENGLISH_STOP_WORDS


def test_unknown_language() -> None:
    with pytest.raises(ValueError, match="unknown analyzer"):
        Analyzer("german")


def test_terms_many() -> None:
    analyzer = Analyzer()
    assert analyzer.terms_many(["running dogs", "", "t-cells"]) == [
        ["run", "dog"], [], ["t-cell", "cell"]]


def test_plain_word_cache_is_consistent() -> None:
    """The fast path caches raw words; the same word must analyse the same on every call and
    independently of what was analysed before."""
    analyzer = Analyzer()
    first = analyzer.terms("Running RUNNING running, (running)")
    assert first == ["run"] * 4
    assert analyzer.terms("running") == ["run"]
    assert Analyzer().terms("running") == ["run"]


# ---------------------------------------------------------------- fast path == general path

ALPHABET = [
    *"abcxyzABCXYZ0123456789   \t\n--..//@_'\",;:!?()[]{}<>`*|=~^%&$#+",
    *"éßıΣσςβαÅ\u0301\u2019\u2018\u201c\u201d\u00a0\u2013\u2010一東²³½¼",
    "the ", "Running ", "cells", "COVID", "http://", "e.g.", " a-b ", ".com", "mailto:",
    "www.", "-19", "1e5", "0.5", "il-", "T-",
]


def general(analyzer: Analyzer, text: str) -> list[str]:
    """The slow path: the general tokenizer over the whole (superscript-translated) text."""
    out: list[str] = []
    analyzer._tokens(text.translate(_NOT_WORD), out.append)
    return out


@pytest.mark.parametrize("language", ["english", "simple"])
def test_fast_path_equals_general_tokenizer(language: str) -> None:
    """If this fails, Analyzer.terms's plain-word shortcut (strip _EDGE, isalpha) disagrees
    with _tokens: the same word would index differently next to different punctuation."""
    rng = random.Random(20240531)
    analyzer = Analyzer(language)
    for _ in range(4000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
        assert analyzer.terms(text) == general(analyzer, text), repr(text)


def test_dotted_capital_i_same_on_both_paths() -> None:
    analyzer = Analyzer()
    for text in ("İrunning", "ADDİTİONS"):
        assert analyzer.terms(text) == general(analyzer, text)
        assert analyzer.terms(text) == analyzer.terms(f"_{text}")  # slow path via '_'
