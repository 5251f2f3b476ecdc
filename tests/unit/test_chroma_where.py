"""Chroma ``where`` translation soundness: against a real chromadb collection, the records
Chroma returns for ``to_where(node).where`` always include every record the Python oracle
matches, and are exactly those when the translation says ``exact``."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chromadb
import pytest
from chromadb.config import Settings

from agent_brain.backends.chroma.encoding import encode_metadata
from agent_brain.backends.chroma.where import to_where
from agent_brain.filters import matches, parse_filter
from agent_brain.validation import check_metadata

KEYS = ("a", "b", "c")
EDGE_VALUES: list[Any] = [
    1, 1.0, True, False, "1", "", 0, 0.0, -3, 2.5, -2.5, 1.5, 3.0, 3, 0.1, -1,
    2**62, 2**53, 2**53 + 1, float(2**53), 2**63 - 1, -(2**63),
    "2024-01-31", "2024-02-01", "2024-01-31T12:00:00", "2023-12-31", "é", "日本", "Z", "a", "ab",
]
OPERAND_EXTRAS: list[Any] = [2.0, -0.5, 0.5, 1.0000001, 2**53 + 2, 2**54, -(2**53) - 1, -2,
                             1e300, -1e300, "2024-01", "2024-02", "b", "~", "\u00e9t\u00e9"]
RANGE_OPS = ("$gt", "$gte", "$lt", "$lte")


def make_records(rng: random.Random, n: int = 200) -> list[tuple[str, dict[str, Any]]]:
    records = []
    for i in range(n):
        metadata = {k: rng.choice(EDGE_VALUES) for k in KEYS if rng.random() < 0.75}
        records.append((f"r{i:03d}", check_metadata(metadata, f"chunks[{i}]")))
    return records


class FilterGenerator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def operand(self) -> Any:
        return self.rng.choice(EDGE_VALUES + OPERAND_EXTRAS)

    def leaf(self) -> dict[str, Any]:
        rng, key = self.rng, self.rng.choice(KEYS)
        op = rng.choice(["implicit", "$eq", "$ne", *RANGE_OPS, *RANGE_OPS, "$in", "$nin",
                         "$exists"])
        if op == "implicit":
            return {key: self.operand()}
        if op in ("$in", "$nin"):
            return {key: {op: [self.operand() for _ in range(rng.randint(0, 4))]}}
        if op == "$exists":
            return {key: {op: rng.random() < 0.5}}
        value = self.operand()
        while op in RANGE_OPS and isinstance(value, bool):
            value = self.operand()
        if op in RANGE_OPS and rng.random() < 0.3:  # a two-sided range on one key
            other = self.operand()
            while isinstance(other, bool):
                other = self.operand()
            return {key: {op: value, rng.choice(RANGE_OPS): other}}
        return {key: {op: value}}

    def filter(self, depth: int = 0) -> dict[str, Any]:
        r = self.rng.random()
        if depth >= 3 or r < 0.4:
            return self.leaf()
        children = [self.filter(depth + 1) for _ in range(self.rng.randint(1, 3))]
        if r < 0.6:
            return {"$and": children}
        if r < 0.8:
            return {"$or": children}
        if r < 0.9:
            return {"$not": children[0]}
        merged: dict[str, Any] = {}  # several keys in one dict
        for child in children:
            merged.update(child)
        return merged


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, list[Any]]]:
    path: Path = tmp_path_factory.mktemp("where") / "chroma"
    client = chromadb.PersistentClient(path=str(path),
                                       settings=Settings(anonymized_telemetry=False))
    collection = client.create_collection("where-oracle", embedding_function=None)
    rng = random.Random(1234)
    records = make_records(rng)
    collection.add(
        ids=[doc_id for doc_id, _ in records],
        embeddings=[[rng.uniform(0.1, 1.0) for _ in range(4)] for _ in records],
        metadatas=[encode_metadata(metadata, True) for _, metadata in records],  # type: ignore[misc]
    )
    yield collection, records
    client.clear_system_cache()


def chroma_ids(collection: Any, where: dict[str, Any] | None, every: set[str]) -> set[str]:
    if where is None:
        return every
    return set(collection.get(where=where, include=[])["ids"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_where_is_a_sound_superset_and_exact_when_it_says_so(
    store: tuple[Any, list[tuple[str, dict[str, Any]]]], seed: int
) -> None:
    """If this fails, read the filter and the records printed: Chroma dropped a true match
    (unsound) or an "exact" translation returned extra rows. Fix where.py, not the test."""
    collection, records = store
    every = {doc_id for doc_id, _ in records}
    generator = FilterGenerator(random.Random(seed))
    exact_count = narrowed = 0
    for _ in range(150):
        spec = generator.filter()
        node = parse_filter(spec)
        oracle = {doc_id for doc_id, metadata in records if matches(node, metadata)}
        translation = to_where(node)
        got = chroma_ids(collection, translation.where, every)
        by_id = dict(records)
        missing = sorted(oracle - got)
        assert not missing, (spec, translation, [by_id[i] for i in missing[:3]])
        if translation.exact:
            exact_count += 1
            extra = sorted(got - oracle)
            assert not extra, (spec, translation, [by_id[i] for i in extra[:3]])
        narrowed += len(got) < len(every)
    # the translation must do real work: a where that is always None would be trivially sound
    assert exact_count >= 15
    assert narrowed >= 45


SHAPES: list[tuple[dict[str, Any], bool]] = [
    ({"a": 1}, True),
    ({"a": "x"}, True),
    ({"a": True}, True),
    ({"a": 2.0}, True),
    ({"a": {"$ne": 1}}, True),
    ({"a": {"$gt": 1}}, True),
    ({"a": {"$lte": -3.0}}, True),
    ({"a": {"$gte": 0, "$lt": 3}}, True),
    ({"a": 1, "b": {"$in": [0, 1.0]}}, True),
    ({"a": {"$in": [1, "x", True]}}, True),
    ({"a": {"$nin": ["x", 2]}}, True),
    ({"a": {"$in": []}}, True),
    ({"a": {"$nin": []}}, True),
    ({"$and": [{"a": 1}, {"b": {"$ne": "x"}}]}, True),
    ({"$or": [{"a": 1}, {"b": 2}]}, True),
    ({"$not": {"a": 1}}, True),
    ({"$not": {"$or": [{"a": 1}, {"b": {"$in": [2]}}]}}, True),
    ({"a": 2.5}, False),  # Chroma truncates against stored ints: a superset
    ({"a": 1.5}, False),
    ({"a": {"$in": [1.5, 0.1]}}, False),
    ({"a": {"$ne": 1.5}}, False),  # Chroma would also drop a = 1
    ({"a": {"$nin": [1.5]}}, False),
    ({"a": {"$nin": [1.5, 1, "x"]}}, False),
    ({"a": {"$lt": 1.5}}, False),
    ({"a": {"$gte": -2.5}}, False),
    ({"a": {"$gt": 0.1, "$lt": 1.0000001}}, False),
    ({"a": 2**53 + 1}, False),
    ({"a": {"$gt": "2024-01-01"}}, False),
    ({"a": {"$exists": True}}, False),
    ({"$not": {"a": {"$gt": 1}}}, False),
    ({"$or": [{"a": 1}, {"b": {"$exists": False}}]}, False),
]


@pytest.mark.parametrize(("spec", "exact"), SHAPES)
def test_exactness_is_declared_where_chroma_is_exact(
    store: tuple[Any, list[tuple[str, dict[str, Any]]]], spec: dict[str, Any], exact: bool
) -> None:
    """Common filters run exactly inside Chroma (no over-fetching in vector search); the
    ones Chroma cannot answer are declared inexact and still sound."""
    collection, records = store
    node = parse_filter(spec)
    translation = to_where(node)
    assert translation.exact is exact
    got = chroma_ids(collection, translation.where, {i for i, _ in records})
    oracle = {i for i, metadata in records if matches(node, metadata)}
    assert oracle <= got
    if exact:
        assert got == oracle
    assert to_where(None).where is None
    assert to_where(None).exact


def test_records_hold_the_edge_values_the_shapes_need(
    store: tuple[Any, list[tuple[str, dict[str, Any]]]]
) -> None:
    """Test-data precondition: the truncation traps above only bite if these are stored."""
    _, records = store
    stored = [(k, v, type(v)) for _, metadata in records for k, v in metadata.items()]
    for value in (1, 1.0, True, 0, -3, 2**53 + 1, "2024-01-31"):
        assert ("a", value, type(value)) in stored, value
