"""Shared test data of the contract suite: corpora rich in edge cases, and filter tables.

Everything here is deterministic (seeded) and backend-agnostic. Expected answers are never
stored here: :mod:`contract_tests.oracle` computes them from this data in plain Python.

Keyword text is built only from plain lowercase English nouns (and their ``-s`` plurals)
whose Snowball stem is the same in PostgreSQL's ``english`` configuration and in PyStemmer,
so one BM25 expectation holds on every backend.
"""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np

from agent_brain import Chunk
from contract_tests.harness import DIMENSION

DIM = DIMENSION

# Nouns whose stem is identical in PostgreSQL (english) and PyStemmer; each with a plural
# that stems to the same term. Checked against both analyzers when the suite was written.
NOUNS: tuple[str, ...] = (
    "apple", "river", "stone", "cloud", "forest", "garden", "window", "lamp", "tiger",
    "piano", "violin", "candle", "bridge", "castle", "island", "rocket", "planet", "ocean",
    "desert", "meadow", "harbor", "valley", "canyon", "glacier", "lemon", "melon", "pepper",
    "carrot", "onion", "garlic", "butter", "bread", "moon", "star", "comet", "falcon",
    "eagle", "camel", "zebra", "horse",
)
STOP_WORDS: tuple[str, ...] = ("the", "and", "of", "a", "with", "in", "on", "is", "to", "for")
WEIRD_QUERY = "\"foo\" & | ! ( ) : * ' \\ <-> river"
"""Operators and quotes of every query syntax a backend might use; 'foo' is in no text."""


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def random_vector(gen: np.random.Generator) -> list[float]:
    """A random float64 vector (its float32 rounding differs from it, on purpose)."""
    return [float(x) for x in gen.normal(size=DIM)]


def axis(i: int, scale: float = 1.0) -> list[float]:
    vector = [0.0] * DIM
    vector[i] = scale
    return vector


def keyword_text(gen: random.Random, words: int, vocabulary: tuple[str, ...] = NOUNS) -> str:
    """Nouns (some plural, some capitalized, some punctuated) mixed with stop words."""
    out = []
    for _ in range(words):
        word = gen.choice(vocabulary[: gen.randint(3, len(vocabulary))])  # skewed frequencies
        if gen.random() < 0.2:
            word += "s"
        if gen.random() < 0.1:
            word = word.capitalize()
        if gen.random() < 0.1:
            word += gen.choice(",.;!?")
        out.append(word)
        if gen.random() < 0.3:
            out.append(gen.choice(STOP_WORDS))
    return " ".join(out)


# --------------------------------------------------------------------------- metadata corpus
BIG = 2**62
"""Large ints survive exactly (a double would not: 2**53 + 1 is not a float)."""

_N_VALUES: tuple[Any, ...] = (
    0, 1, 1.0, -1, -2.5, 2, 2.0, 3.5, 10, 100, BIG, -BIG, 2**53 + 1, 2**53, 1e-9, -0.0, 0.5,
    7, 1e300, -1e-300, 0.1, 9, 1.5,
)
_S_VALUES: tuple[Any, ...] = (
    "1", "", "abc", "Abc", "abd", "é", "e", "z", "日本", "2024-01-15", "2023-12-31",
    "2024-02-01T10:00:00", "10", "9", " ", "a b", "it's", "ß", "Z", "1.0", "true", "abc ",
    "\u00e9t\u00e9", "😀",
)
_V_VALUES: tuple[Any, ...] = (
    1, 1.0, True, "1", False, 0, "", "true", 0.0, "True", 2, "0", -1, "False",
)


def filter_corpus() -> list[Chunk]:
    """~50 chunks whose metadata covers the filter language's edge cases.

    Keys: ``n`` numbers (ints, floats, 1 vs 1.0, -0.0, 2**62, 2**53 + 1, tiny and huge),
    ``s`` strings (empty, number-like, case, non-ASCII, ISO dates), ``b`` bools, ``v`` one key
    holding every kind (1, 1.0, True, "1", ...), ``id`` (a metadata key named id, unrelated
    to the chunk id), ``tag``, ``i`` (every chunk), ``opt`` (some chunks), keys that are not
    identifiers (``it's``, ``dotted.key``, ``space key``, ``ключ``), and chunks lacking keys.
    Every text holds ``apple`` so keyword search can reach every chunk.
    """
    gen = random.Random(1234)
    vgen = rng(1234)
    chunks: list[Chunk] = []
    count = 52
    for i in range(count):
        meta: dict[str, Any] = {"i": i}
        if i % 13 != 5:
            meta["n"] = _N_VALUES[i % len(_N_VALUES)]
        if i % 11 != 3:
            meta["s"] = _S_VALUES[(i * 7) % len(_S_VALUES)]
        if i % 3 == 0:
            meta["b"] = bool(i % 2)
        if i % 4 != 1:
            meta["v"] = _V_VALUES[i % len(_V_VALUES)]
        if i % 5 == 0:
            meta["id"] = f"m{(i + 1) % count:02d}"
        elif i % 5 == 2:
            meta["id"] = i
        meta["tag"] = ("red", "green", "blue")[i % 3]
        if i % 6 == 4:
            meta["opt"] = float(i) / 4
        if i % 7 == 0:
            meta["it's"] = i % 2
        if i % 8 == 1:
            meta["dotted.key"] = "x" if i % 16 == 1 else "y"
        if i % 9 == 2:
            meta["space key"] = i % 2 == 0
        if i % 10 == 6:
            meta["ключ"] = "значение"
        if i == 17:
            meta = {}  # no metadata at all
        embedding = None if i % 10 == 9 else random_vector(vgen)
        text = "apple " + keyword_text(gen, gen.randint(1, 8))
        chunks.append(Chunk(f"m{i:02d}", text, embedding, meta))
    return chunks


FILTER_KEYS: tuple[str, ...] = (
    "n", "s", "b", "v", "id", "tag", "i", "opt", "ghost", "it's", "dotted.key", "space key",
    "ключ",
)
NUMBER_OPERANDS: tuple[Any, ...] = (
    0, 1, 1.0, -1, 2, 1.5, 0.5, -0.0, 2**53, float(2**53), BIG, float(BIG), -BIG, 9, 10,
    1e-9, 0.1, 100, 1e300,
)
STRING_OPERANDS: tuple[Any, ...] = (
    "", "1", "abc", "Abc", "abd", "é", "z", "Z", "2024-01-01", "2024", "2024-01-15",
    "日本", "10", "9", "x", "m01", "true", "red", " ",
)
OTHER_OPERANDS: tuple[Any, ...] = (True, False)
ALL_OPERANDS: tuple[Any, ...] = NUMBER_OPERANDS + STRING_OPERANDS + OTHER_OPERANDS
RANGE_OPS = ("$gt", "$gte", "$lt", "$lte")


def systematic_filters() -> list[Any]:
    """A table through every operator, every value kind, missing keys and logic shapes."""
    out: list[Any] = [None, {}]
    # Equality / inequality of every operand kind on the mixed-kind key and on "n"/"s".
    for key in ("v", "n", "s"):
        for value in ALL_OPERANDS[:: 1 if key == "v" else 2]:
            out.append({key: value})
            out.append({key: {"$ne": value}})
        out.append({key: {"$eq": 1}})
    # Ranges: number with number, string with string, and across kinds (matches nothing).
    for op in RANGE_OPS:
        for value in (0, 1, 1.0, -1, 1.5, 2**53, float(2**53), BIG, "1", "abc", "é", ""):
            out.append({"n": {op: value}})
        for value in ("", "1", "Abc", "abc", "é", "2024-01-01", "2024-01-15", "日本", 1, 0):
            out.append({"s": {op: value}})
        for value in (0, 1, "1", ""):
            out.append({"v": {op: value}})
    # Membership, including empty lists and mixed kinds.
    for lst in ([], [1], [1.0], [0.0], [1, "1", True], [True], [False, 0], ["", "abc"],
                [2**53, BIG], ["red", "blue"], ["1", "true"], [-1, 2.0, 9]):
        for key in ("v", "n", "s", "tag", "ghost"):
            out.append({key: {"$in": lst}})
            out.append({key: {"$nin": lst}})
    # Existence and the missing-key rule on every key.
    for key in FILTER_KEYS:
        out.append({key: {"$exists": True}})
        out.append({key: {"$exists": False}})
        out.append({key: {"$ne": 1}})
        out.append({"$not": {key: 1}})
        out.append({"$not": {key: {"$gt": 0}}})
    for op in ("$eq", "$gt", "$gte", "$lt", "$lte"):
        out.append({"ghost": {op: 1}})
    out += [
        {"b": True}, {"b": False}, {"b": {"$ne": True}}, {"b": {"$in": [True]}},
        {"b": {"$nin": [False]}}, {"b": 1}, {"b": {"$gt": 0}},
        {"id": "m01"}, {"id": 2}, {"id": {"$in": ["m01", "m11", 12]}}, {"id": {"$gt": "m30"}},
        {"id": {"$exists": False}},
        {"it's": 1}, {"it's": 0}, {"dotted.key": "x"}, {"space key": True},
        {"ключ": "значение"}, {"ключ": {"$exists": True}},
        {"opt": {"$gte": 1.0, "$lt": 5}}, {"i": {"$gte": 10, "$lt": 20}},
        {"n": {"$gt": 0, "$lt": 10, "$ne": 2}},
        {"n": {"$gte": -1, "$lte": 1}}, {"s": {"$gte": "2023", "$lt": "2025"}},
        {"tag": "red", "b": True}, {"tag": "blue", "n": {"$exists": True}, "v": {"$ne": 1}},
        {"$and": [{"tag": "red"}]}, {"$or": [{"tag": "red"}]},
        {"$and": [{"n": {"$gte": 1}}, {"n": {"$ne": 1.0}}]},
        {"$or": [{"n": 1}, {"s": "1"}, {"v": True}]},
        {"$or": [{"ghost": 1}, {"ghost": {"$exists": False}}]},
        {"$not": {"$or": [{"tag": "red"}, {"n": {"$gt": 5}}]}},
        {"$not": {"$and": [{"tag": "red"}, {"b": True}]}},
        {"$not": {"$not": {"tag": "green"}}},
        {"$not": {"n": {"$exists": True}}},
        {"$not": {"ghost": {"$exists": True}}},
        {"$not": {"n": {"$in": [1, 2]}}},
        {"$not": {"n": {"$nin": [1, 2]}}},
        {"$not": {"s": {"$ne": ""}}},
        {"$and": [{"$or": [{"tag": "red"}, {"tag": "blue"}]}, {"$not": {"b": False}}]},
        {"$or": [{"$and": [{"n": {"$gt": 1}}, {"s": {"$exists": True}}]},
                 {"$and": [{"v": "1"}, {"i": {"$lt": 30}}]}]},
        {"$and": [{"i": {"$gte": 5}}, {"$or": [{"$not": {"v": 1}}, {"n": {"$lt": 0}}]}]},
        {"tag": "green", "$or": [{"n": {"$lt": 1}}, {"s": {"$gt": "m"}}]},
        {"$and": [{"i": {"$lt": 40}}], "$not": {"tag": "red"}},
    ]
    return out


def random_filters(seed: int, count: int) -> list[Any]:
    """Seeded random nested filters over :data:`FILTER_KEYS` (always well-formed)."""
    gen = random.Random(seed)

    def operand(kind: str | None = None) -> Any:
        if kind == "number":
            return gen.choice(NUMBER_OPERANDS)
        if kind == "str":
            return gen.choice(STRING_OPERANDS)
        return gen.choice(ALL_OPERANDS)

    def field_condition() -> Any:
        op = gen.choice(["=", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
                         "$exists", "multi"])
        if op == "=":
            return operand()
        if op in ("$eq", "$ne"):
            return {op: operand()}
        if op in RANGE_OPS:
            return {op: operand(gen.choice(["number", "number", "str"]))}
        if op in ("$in", "$nin"):
            return {op: [operand() for _ in range(gen.randint(0, 4))]}
        if op == "$exists":
            return {op: gen.random() < 0.5}
        kind = gen.choice(["number", "str"])
        return {gen.choice(RANGE_OPS[:2]): operand(kind), gen.choice(RANGE_OPS[2:]): operand(kind)}

    def node(depth: int) -> dict[str, Any]:
        roll = gen.random() if depth > 0 else 0.0
        if roll < 0.45:
            keys = gen.sample(FILTER_KEYS, gen.choice([1, 1, 1, 2]))
            return {key: field_condition() for key in keys}
        if roll < 0.65:
            return {"$and": [node(depth - 1) for _ in range(gen.randint(1, 3))]}
        if roll < 0.85:
            return {"$or": [node(depth - 1) for _ in range(gen.randint(1, 3))]}
        return {"$not": node(depth - 1)}

    return [node(gen.randint(0, 3)) for _ in range(count)]


MALFORMED_FILTERS: tuple[tuple[str, Any], ...] = (
    ("unknown operator", {"n": {"$foo": 1}}),
    ("unknown logical operator", {"$xor": [{"n": 1}]}),
    ("list under $gt", {"n": {"$gt": [1, 2]}}),
    ("bool under $gt", {"n": {"$gt": True}}),
    ("bool under $lte", {"n": {"$lte": False}}),
    ("scalar under $in", {"n": {"$in": 1}}),
    ("string under $nin", {"s": {"$nin": "abc"}}),
    ("non-dict under $not", {"$not": [{"n": 1}]}),
    ("scalar under $not", {"$not": 1}),
    ("non-dict filter (list)", [{"n": 1}]),
    ("non-dict filter (string)", "n = 1"),
    ("non-dict filter (int)", 1),
    ("empty key", {"": 1}),
    ("key starting with $", {"$n": 1}),
    ("empty $and", {"$and": []}),
    ("empty $or", {"$or": []}),
    ("$and not a list", {"$and": {"n": 1}}),
    ("NaN value", {"n": math.nan}),
    ("NaN under $gt", {"n": {"$gt": math.nan}}),
    ("inf under $lt", {"n": {"$lt": math.inf}}),
    ("NaN in $in", {"n": {"$in": [1, math.nan]}}),
    ("empty operator dict", {"n": {}}),
    ("list as a value", {"n": [1, 2]}),
    ("None as a value", {"n": None}),
    ("$exists not a bool", {"n": {"$exists": 1}}),
    ("nested unknown operator", {"$and": [{"n": 1}, {"$or": [{"s": {"$bad": 1}}]}]}),
    ("int beyond 64 bits", {"n": 2**64}),
    ("dict inside $in", {"n": {"$in": [{"a": 1}]}}),
)


# --------------------------------------------------------------------------- search corpora
def selective_corpus() -> list[Chunk]:
    """300 chunks where selective filters pick chunks far from the query.

    Most chunks sit near +axis 0 (where vector queries look) and hold many ``river`` terms;
    the chunks the selective filters pick sit near -axis 0 and hold ``river`` once in a long
    text, so a backend that filters *after* a top-k scan finds too few of them.
    ``one``: a single chunk; ``few``: five (one without embedding); ``tenth``: 10%;
    ``lonely``: a single chunk without embedding; ``grp``: i % 10.
    """
    gen = rng(99)
    tgen = random.Random(99)
    few = {17, 88, 150, 201, 299}
    chunks = []
    for i in range(300):
        meta: dict[str, Any] = {"grp": i % 10, "tenth": i % 10 == 3}
        far = i in few or i == 123 or i % 10 == 3
        if i == 123:
            meta["one"] = True
        if i in few:
            meta["few"] = True
        if i == 42:
            meta["lonely"] = True
        base = np.zeros(DIM)
        base[0] = -1.0 if far else 1.0
        vector = [float(x) for x in base + 0.35 * gen.normal(size=DIM)]
        no_embedding = i in (42, 150) or (i % 17 == 0 and i not in few)
        if far:
            text = "river " + keyword_text(tgen, 25, NOUNS[5:])
        else:
            text = "river river " + keyword_text(tgen, tgen.randint(2, 8))
        if i % 29 == 7 and not far and i != 42:
            text = keyword_text(tgen, 6, NOUNS[10:])  # holds no river at all
        chunks.append(Chunk(f"d{i:03d}", text, None if no_embedding else vector, meta))
    return chunks


def keyword_corpus(seed: int = 7, count: int = 80) -> list[Chunk]:
    """Text with skewed term frequencies, plus a chunk of stop words only, an empty text,
    exact duplicates (exact score ties) and chunks without embeddings."""
    gen = random.Random(seed)
    vgen = rng(seed)
    chunks = []
    for i in range(count):
        text = keyword_text(gen, gen.randint(1, 20))
        if i == 5:
            text = "the and of with"
        elif i == 6:
            text = ""
        elif i in (30, 31, 32):
            text = "comet comet harbor falcon"  # identical: exact ties, broken by id
        elif i == 40:
            text = "River, RIVERS; river... rivers!"
        embedding = None if i % 6 == 2 else random_vector(vgen)
        chunks.append(Chunk(f"k{i:03d}", text, embedding, {"i": i, "even": i % 2 == 0}))
    return chunks


KEYWORD_QUERIES: tuple[str, ...] = (
    "apple", "river", "rivers", "River Stone", "comet harbor", "falcon", "zebra camel horse",
    "river river stone", "the apple of the garden", "APPLES, Clouds; windows!",
    "moon star comet planet rocket", "glacier", "lamp tiger piano violin candle bridge",
    "nonexistentword apple", "apple apple apple", WEIRD_QUERY,
    "naïve café 日本 river", "comet",
)
EMPTY_QUERIES: tuple[str, ...] = (
    "", "   ", "the and of", "a", "THE", "\"\" & | ! ( ) : * ' \\", "nonexistentword",
    "😀", "-", "...",
)


def hybrid_corpus() -> tuple[list[Chunk], list[list[float]]]:
    """60 chunks whose vector scores for the returned queries are well separated (no near
    ties), and keyword text with distinct BM25 profiles; plus two query vectors."""
    gen = random.Random(5)
    count = 60
    angles = [math.pi * (j + 1) / (count + 2) for j in range(count)]
    gen.shuffle(angles)
    chunks = []
    for i in range(count):
        theta = angles[i]
        vector = [math.cos(theta), math.sin(theta)] + [0.0] * (DIM - 2)
        text = keyword_text(gen, gen.randint(2, 12), NOUNS[:12])
        meta = {"i": i, "side": "left" if i % 2 else "right"}
        chunks.append(Chunk(f"h{i:02d}", text, vector, meta))
    queries = [axis(0), axis(1)]
    return chunks, queries


BAD_NAMESPACES: tuple[Any, ...] = ("", "x" * 64, "a b", "a/b", "é", "a.b", None, 1, "a\x00")
NASTY_QUERIES: tuple[str, ...] = (
    "foo:*", "a & b river", "!river", "(river", "river)", "'river'", "river:A", "<->",
    "river <-> stone", "\\", "%", "_", "river OR stone", "river AND NOT stone", "-river",
    "+river", "river*", "\"river stone\"", "NEAR(river, stone)", "' OR 1=1 --",
    "river's stone", "river_stone", "river-stone", "river/stone", "river.stone",
    "river@stone", "RIVER;DROP TABLE chunks", "$1 river", "river\\stone",
    "river\tstone\nmoon", "😀 river", "river–stone", "stone,river", "%river%", "river' --",
    "{\"$ne\": 1} river", "river || stone", "river && !stone",
)
"""Query syntax of tsquery, FTS5, Lucene and SQL: all plain text to this library. Their
analysis (the same in PostgreSQL and the Python analyzer) was checked term by term."""
