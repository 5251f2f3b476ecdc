"""Text → BM25 terms, the way PostgreSQL's ``english`` text-search configuration does it.

Both backends must rank alike, so this analyzer mirrors PostgreSQL's default parser and the
``english`` configuration for the token kinds prose is made of:

* words (letters only): lowercased, dropped if a stop word, Snowball-English stemmed;
* letter+digit words (``cd4``, ``h2o``) and numbers (``2019``, ``-19``, ``0.05``, ``1e-5``):
  lowercased, kept as they are;
* hyphenated words (``t-cells``, ``il-1β``): the whole compound *and* each part, as
  PostgreSQL's ``asciihword``/``numhword`` plus ``hword_part`` tokens; a part made only of
  digits is not a word part, so ``covid-19`` is ``covid`` and ``-19``, as in PostgreSQL;
* dotted or slashed ASCII tokens (``e.g``, ``u.s``, ``10mg/kg``, ``/ml``) and e-mail
  addresses: lowercased, kept whole (PostgreSQL's ``file``, ``host``, ``email`` tokens);
* a minus sign right after a hyphenated word is a hyphen, not a sign (``mda-mb-231`` gives
  ``231``), while after a plain word it is a sign (``mmp-1`` gives ``mmp`` and ``-1``).

URLs, XML tags and entities are rarer in prose and are only approximated.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from itertools import chain

import Stemmer

from agent_brain.keyword.stopwords import ENGLISH_STOP_WORDS

_PART = r"\d*[^\W\d_][^\W_]*"  # an alphanumeric run that holds at least one letter
_LABEL = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
_TOKEN = re.compile(
    r"(?P<email>[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
    rf"|(?P<url>(?:https?|ftp)://(?P<host>{_LABEL}(?:\.{_LABEL})+)(?P<urlpath>/[\w.~%?=&+#/-]*)?)"
    rf"|(?P<hostname>{_LABEL}(?:\.{_LABEL})*\.[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)(?![\w/])"
    r"|(?P<sfloat>[-+]?\d+(?:\.\d+)?[eE][-+]?\d+)(?![^\W_])"
    r"|(?P<float>[-+]?\d+\.\d+)"
    rf"|(?P<hyphen>{_PART}(?:-{_PART})+)"
    r"|(?P<path>(?:/[A-Za-z0-9_]|[A-Za-z0-9_]+[./][A-Za-z0-9_])[A-Za-z0-9_-]*"
    r"(?:[./][A-Za-z0-9_-]+)*)"
    r"|(?P<int>[-+]\d+)"
    r"|(?P<word>[^\W_]+)"
)
_LETTERS = re.compile(r"[^\W\d_]+")
# Python's \w counts superscripts and vulgar fractions (``²``, ``½``) as word characters;
# PostgreSQL's parser does not, so they become separators before tokenizing.
_NOT_WORD = {
    cp: " "
    for cp in range(0x110000)
    if chr(cp).isnumeric() and not chr(cp).isdecimal() and not chr(cp).isalpha()
}
# "İ" is the one letter whose lowercase is not a letter ("i" + combining dot); PostgreSQL
# lowercases it to a plain "i", and so do we, before tokenizing.
_NOT_WORD[0x130] = "i"

# Characters that never start or end a token: stripping them off a whitespace-separated
# piece leaves the tokens the full tokenizer would find, so plain words take a fast path.
_EDGE = "".join(sorted(set(",;:!?()[]{}<>\"'`*|=~^%&$#\u2018\u2019\u201c\u201d.")))
_UNSEEN = "\x00"  # never a stem: text holding NUL is refused
_WORD_CACHE = 500_000

ANALYZERS = ("english", "simple")


class _PieceCache(dict[str, tuple[str, ...]]):
    """piece -> its terms, computed on first use (``__missing__``), bounded by clearing."""

    def __init__(self, analyze: Callable[[str], tuple[str, ...]]) -> None:
        super().__init__()
        self._analyze = analyze

    def __missing__(self, piece: str) -> tuple[str, ...]:
        terms = self._analyze(piece)
        if len(self) >= _WORD_CACHE:
            self.clear()
        self[piece] = terms
        return terms


class Analyzer:
    """Turns text into a list of terms; ``len(terms)`` is the document length BM25 uses.

    ``language="simple"`` lowercases and splits the same way but neither drops stop words
    nor stems (PostgreSQL's ``simple`` configuration).
    """

    def __init__(self, language: str = "english") -> None:
        if language not in ANALYZERS:
            raise ValueError(f"unknown analyzer {language!r}; expected one of {ANALYZERS}")
        self.language = language
        self._stemmer = Stemmer.Stemmer("english") if language == "english" else None
        self._stop = ENGLISH_STOP_WORDS if language == "english" else frozenset()
        self._lock = threading.Lock()  # PyStemmer objects are not thread-safe
        self._word = lru_cache(maxsize=200_000)(self._analyze_word)
        self._words: dict[str, str | None] = {}  # raw plain word -> stem (None: a stop word)
        self._pieces = _PieceCache(self._analyze_piece)

    def terms(self, text: str) -> list[str]:
        # Every whitespace-separated piece is analyzed once and its terms cached, so the
        # loop runs in C (map over the cache's lookups, then chain): ~60 ns a token instead
        # of ~250 ns with a Python loop doing strip/isalpha/dict lookups per token (the
        # embedded backend analyzes every chunk it writes: a fifth of a bulk load was here).
        if not text.isascii():  # every character _NOT_WORD maps is outside ASCII
            text = text.translate(_NOT_WORD)
        return list(chain.from_iterable(map(self._pieces.__getitem__, text.split())))

    def _analyze_piece(self, piece: str) -> tuple[str, ...]:
        """The terms of one whitespace-free piece."""
        core = piece.strip(_EDGE)
        if core.isalpha():  # the common case: one plain word, maybe with punctuation
            words = self._words
            stem = words.get(core, _UNSEEN)
            if stem is _UNSEEN:
                stem = self._analyze_word(core.lower())
                if len(words) >= _WORD_CACHE:
                    words.clear()
                words[core] = stem
            return () if stem is None else (stem,)
        out: list[str] = []
        if core:
            self._tokens(piece, out.append)
        return tuple(out)

    def _tokens(self, piece: str, append: Callable[[str], None]) -> None:
        """The general tokenizer, for a whitespace-free piece that is not a plain word."""
        word = self._word
        compound_end = -1
        for match in _TOKEN.finditer(piece):
            kind = match.lastgroup
            token = match.group().lower()
            if kind == "int" and match.start() == compound_end:
                token = token[1:]
            if kind == "word":
                if _LETTERS.fullmatch(token):
                    stem = word(token)
                    if stem is not None:
                        append(stem)
                else:
                    append(token)
            elif kind == "url":
                host, path = match.group("host").lower(), match.group("urlpath")
                if path:
                    append(token.split("://", 1)[1])
                append(host)
                if path:
                    append(path.lower())
            elif kind == "hyphen":
                compound_end = match.end()
                parts = token.split("-")
                if all(_LETTERS.fullmatch(p) for p in parts):
                    append(self._stem_compound(token))
                else:
                    append(token)
                for part in parts:
                    if _LETTERS.fullmatch(part):
                        stem = word(part)
                        if stem is not None:
                            append(stem)
                    else:
                        append(part)
            else:
                append(token)

    def terms_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.terms(text) for text in texts]

    def _analyze_word(self, word: str) -> str | None:
        if word in self._stop:
            return None
        if self._stemmer is None:
            return word
        with self._lock:
            stem: str = self._stemmer.stemWord(word)
        return stem

    def _stem_compound(self, compound: str) -> str:
        if self._stemmer is None:
            return compound
        with self._lock:
            stem: str = self._stemmer.stemWord(compound)
        return stem
