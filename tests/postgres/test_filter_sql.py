"""The filter compiler against the Python oracle (agent_brain.filters.evaluate): many random
filters over random, type-mixed metadata must select exactly the same chunks."""

from __future__ import annotations

import random
from typing import Any

import pytest

from agent_brain import Chunk
from agent_brain.backends.postgres import PGBackend
from agent_brain.backends.postgres.filters import Params, compile_filter
from agent_brain.filters import compile_predicate, parse_filter
from tests.postgres.conftest import DIM

pytestmark = pytest.mark.postgres

KEYS = ["k0", "k1", "k2", "k3", "id"]
VALUES: list[Any] = [
    0, 1, -1, 2, 3, -3, 2**53 + 1, -(2**63), 2**63 - 1,
    0.0, 0.5, 1.0, -2.5, 3.0, 1e16, 2.0**60, 1e-7,
    True, False,
    "", "a", "b", "B", "ab", "é", "z", "1", "10", "9", "2024-01-05", "2024-11-30", 'q"t', "𝄞",
]
RANGE_VALUES = [v for v in VALUES if not isinstance(v, bool)]


def random_metadata(rng: random.Random) -> dict[str, Any]:
    return {k: rng.choice(VALUES) for k in KEYS if rng.random() < 0.7}


def random_leaf(rng: random.Random) -> dict[str, Any]:
    key = rng.choice(KEYS)
    kind = rng.random()
    if kind < 0.2:
        return {key: rng.choice(VALUES)}
    if kind < 0.4:
        return {key: {rng.choice(["$eq", "$ne"]): rng.choice(VALUES)}}
    if kind < 0.7:
        return {key: {rng.choice(["$gt", "$gte", "$lt", "$lte"]): rng.choice(RANGE_VALUES)}}
    if kind < 0.9:
        values = [rng.choice(VALUES) for _ in range(rng.randint(0, 4))]
        return {key: {rng.choice(["$in", "$nin"]): values}}
    return {key: {"$exists": rng.random() < 0.5}}


def random_filter(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    kind = rng.random()
    if depth >= 3 or kind < 0.45:
        return random_leaf(rng)
    if kind < 0.6:
        return {"$not": random_filter(rng, depth + 1)}
    if kind < 0.7:
        merged: dict[str, Any] = {}
        for _ in range(2):
            merged.update(random_leaf(rng))
        return merged
    op = rng.choice(["$and", "$or"])
    return {op: [random_filter(rng, depth + 1) for _ in range(rng.randint(1, 3))]}


async def test_random_filters_match_the_oracle(backend: PGBackend) -> None:
    rng = random.Random(2024)
    chunks = [Chunk(f"c{i:03d}", f"text {i}", [float(1 + (i * j) % 7) for j in range(DIM)],
                    random_metadata(rng)) for i in range(160)]
    await backend.upsert(chunks, namespace="f")
    mismatches = []
    for n in range(300):
        filters = random_filter(rng)
        predicate = compile_predicate(parse_filter(filters))
        want = sorted(c.id for c in chunks if predicate(c.metadata))
        got = [c.id for c in await backend.get(namespace="f", filters=filters,
                                               include_embeddings=False)]
        if got != want:
            mismatches.append((filters, sorted(set(got) ^ set(want))[:5]))
        if n % 10 == 0:
            assert await backend.count(namespace="f", filters=filters) == len(want), filters
            hits = await backend.vector_search([1.0] * DIM, top_k=500, namespace="f",
                                               filters=filters)
            assert sorted(h.id for h in hits) == want, filters
    assert not mismatches, f"{len(mismatches)} filters disagree, e.g. {mismatches[:3]}"


def test_keys_and_values_are_bound_never_inlined() -> None:
    """Nothing from the filter reaches the SQL text: keys and values are parameters."""
    evil = "x'); DROP TABLE agent_brain.chunks; --"
    node = parse_filter({"$or": [{evil: evil}, {evil: {"$gt": evil}}, {evil: {"$in": [evil]}},
                                 {evil: {"$exists": True}}, {"$not": {evil: 1.5}}]})
    params = Params(1)
    sql = compile_filter(node, params)
    assert "DROP" not in sql
    assert "x'" not in sql
    assert sql.count("(") == sql.count(")")
    assert any(evil in str(v) for v in params.values)


def test_empty_in_and_nin() -> None:
    assert compile_filter(parse_filter({"k": {"$in": []}}), Params()) == "(FALSE)"
    assert compile_filter(parse_filter({"k": {"$nin": []}}), Params()) == "(TRUE)"


def test_large_in_list_uses_one_array_parameter() -> None:
    params = Params(5)
    sql = compile_filter(parse_filter({"k": {"$in": list(range(100))}}), params)
    assert "ANY($5::jsonb[])" in sql
    assert len(params.values) == 1
    assert len(params.values[0]) == 100
