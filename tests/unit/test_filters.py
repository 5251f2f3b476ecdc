"""The filter language: parse_filter builds the documented tree or raises a FilterError that
names the offending path; the plain-Python evaluator (the contract suite's oracle) has the
documented semantics."""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import pytest

from agent_brain.errors import FilterError, InvalidInputError
from agent_brain.filters import (
    And,
    Comparison,
    Exists,
    Membership,
    Not,
    Or,
    compile_predicate,
    filter_keys,
    matches,
    parse_filter,
    values_equal,
)

# ---------------------------------------------------------------- parsing: accepted forms

C = Comparison


@pytest.mark.parametrize(("spec", "tree"), [
    ({"k": 1}, C("k", "$eq", 1)),
    ({"k": "x"}, C("k", "$eq", "x")),
    ({"k": True}, C("k", "$eq", True)),
    ({"k": 2.5}, C("k", "$eq", 2.5)),
    ({"id": "a"}, C("id", "$eq", "a")),  # a metadata key named id is just metadata
    ({"k": {"$eq": 1}}, C("k", "$eq", 1)),
    ({"k": {"$ne": "x"}}, C("k", "$ne", "x")),
    ({"k": {"$gt": 1}}, C("k", "$gt", 1)),
    ({"k": {"$gte": 1.5}}, C("k", "$gte", 1.5)),
    ({"k": {"$lt": "2024-01-01"}}, C("k", "$lt", "2024-01-01")),
    ({"k": {"$lte": -3}}, C("k", "$lte", -3)),
    ({"k": {"$in": [1, "a", True, 2.5]}}, Membership("k", (1, "a", True, 2.5), False)),
    ({"k": {"$in": (1, 2)}}, Membership("k", (1, 2), False)),
    ({"k": {"$nin": ["a"]}}, Membership("k", ("a",), True)),
    ({"k": {"$in": []}}, Membership("k", (), False)),
    ({"k": {"$nin": []}}, Membership("k", (), True)),
    ({"k": {"$exists": True}}, Exists("k", True)),
    ({"k": {"$exists": False}}, Exists("k", False)),
    ({"k": {"$gt": 1, "$lt": 5}}, And((C("k", "$gt", 1), C("k", "$lt", 5)))),
    ({"a": 1, "b": {"$ne": 2}}, And((C("a", "$eq", 1), C("b", "$ne", 2)))),
    ({"$and": [{"a": 1}, {"b": 2}]}, And((C("a", "$eq", 1), C("b", "$eq", 2)))),
    ({"$or": [{"a": 1}, {"b": 2}]}, Or((C("a", "$eq", 1), C("b", "$eq", 2)))),
    ({"$and": [{"a": 1}]}, C("a", "$eq", 1)),  # one element is allowed
    ({"$or": [{"a": 1}]}, C("a", "$eq", 1)),
    ({"$not": {"a": 1}}, Not(C("a", "$eq", 1))),
    ({"$not": {"a": 1, "b": 2}}, Not(And((C("a", "$eq", 1), C("b", "$eq", 2))))),
    ({"$or": [{"$and": [{"a": 1}, {"b": {"$in": [2]}}]}, {"$not": {"c": {"$exists": True}}}]},
     Or((And((C("a", "$eq", 1), Membership("b", (2,), False))), Not(Exists("c", True))))),
    ({"$and": [{"a": 1}], "b": 2}, And((C("a", "$eq", 1), C("b", "$eq", 2)))),
    ({"k": 2**63 - 1}, C("k", "$eq", 2**63 - 1)),
    ({"k": -(2**63)}, C("k", "$eq", -(2**63))),
    ({"k": "é 日本"}, C("k", "$eq", "é 日本")),
])
def test_documented_forms_parse_to_the_tree(spec: dict[str, Any], tree: object) -> None:
    assert parse_filter(spec) == tree


@pytest.mark.parametrize("spec", [None, {}])
def test_no_filter(spec: dict[str, Any] | None) -> None:
    assert parse_filter(spec) is None
    assert matches(None, {"a": 1})
    assert matches(None, {})


def test_negative_zero_is_normalised() -> None:
    node = parse_filter({"k": -0.0})
    assert isinstance(node, Comparison)
    assert math.copysign(1.0, node.value) == 1.0  # type: ignore[arg-type]


def test_filter_keys() -> None:
    node = parse_filter({"$or": [{"a": 1}, {"$not": {"b": {"$in": [1]}}}], "c": {"$exists": True}})
    assert node is not None
    assert filter_keys(node) == {"a", "b", "c"}


# ---------------------------------------------------------------- parsing: refusals


@pytest.mark.parametrize(("spec", "path"), [
    ({"$and": [{"a": 1}, {"year": {"$gt": [1]}}]}, "filters['$and'][1]['year']['$gt']"),
    ({"$and": [{"a": 1}, {"year": {"$gt": True}}]}, "filters['$and'][1]['year']['$gt']"),
    ({"year": {"$lte": False}}, "filters['year']['$lte']"),
    ({"$and": {"a": 1}}, "filters['$and']"),
    ({"$or": "a"}, "filters['$or']"),
    ({"$and": []}, "filters['$and']"),
    ({"$or": []}, "filters['$or']"),
    ({"$or": [{"a": 1}, 5]}, "filters['$or'][1]"),
    ({"$or": [{"a": 1}, {}]}, "filters['$or'][1]"),
    ({"$not": [{"a": 1}]}, "filters['$not']"),
    ({"$not": 1}, "filters['$not']"),
    ({"$not": {}}, "filters['$not']"),
    ({"$nor": [{"a": 1}]}, "filters['$nor']"),
    ({"$eq": 1}, "filters['$eq']"),
    ({"": 1}, "filters['']"),
    ({1: 1}, "filters[1]"),
    ({"a": {}}, "filters['a']"),
    ({"a": {"$regex": "x"}}, "filters['a']['$regex']"),
    ({"a": {"$not": {"$eq": 1}}}, "filters['a']['$not']"),
    ({"a": {"b": 1}}, "filters['a']['b']"),
    ({"a": {"$eq": 1, "b": 1}}, "filters['a']['b']"),
    ({"a": {1: 1}}, "filters['a'][1]"),
    ({"a": {"$in": 3}}, "filters['a']['$in']"),
    ({"a": {"$in": "abc"}}, "filters['a']['$in']"),
    ({"a": {"$nin": {"x": 1}}}, "filters['a']['$nin']"),
    ({"a": {"$in": [1, [2]]}}, "filters['a']['$in'][1]"),
    ({"a": {"$in": [1, None]}}, "filters['a']['$in'][1]"),
    ({"a": {"$nin": [float("nan")]}}, "filters['a']['$nin'][0]"),
    ({"a": {"$exists": 1}}, "filters['a']['$exists']"),
    ({"a": {"$exists": "yes"}}, "filters['a']['$exists']"),
    ({"a": None}, "filters['a']"),
    ({"a": [1, 2]}, "filters['a']"),
    ({"a": float("nan")}, "filters['a']"),
    ({"a": {"$lt": float("inf")}}, "filters['a']['$lt']"),
    ({"a": {"$gt": -float("inf")}}, "filters['a']['$gt']"),
    ({"a": 2**63}, "filters['a']"),
    ({"a": {"$ne": -(2**63) - 1}}, "filters['a']['$ne']"),
    ({"a": {"$eq": {"$eq": 1}}}, "filters['a']['$eq']"),
    ({"a": b"x"}, "filters['a']"),
    ({"$and": [{"$or": [{"a": 1}, {"$not": {"b": {"$in": 2}}}]}]},
     "filters['$and'][0]['$or'][1]['$not']['b']['$in']"),
])
def test_malformed_filter_names_the_offending_path(spec: dict[Any, Any], path: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(spec)
    assert path in str(info.value)
    # the path named is the deepest one: no longer path also names a wrong part
    assert f"{path}[" not in info.value.message


@pytest.mark.parametrize("spec", [[{"a": 1}], "a == 1", 3, ("a", 1)])
def test_non_dict_filter(spec: object) -> None:
    with pytest.raises(FilterError, match="filters must be a dict"):
        parse_filter(spec)  # type: ignore[arg-type]


def test_filter_error_is_an_invalid_input_error() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_filter({"a": {"$bogus": 1}})
    assert isinstance(info.value, FilterError)
    assert info.value.hint  # says what is expected


# ---------------------------------------------------------------- evaluator semantics

MISSING: dict[str, Any] = {}

SEMANTICS = [
    # strict kinds under equality
    ({"k": 1}, {"k": 1}, True),
    ({"k": 1}, {"k": 1.0}, True),
    ({"k": 1.0}, {"k": 1}, True),
    ({"k": 1}, {"k": True}, False),
    ({"k": True}, {"k": 1}, False),
    ({"k": False}, {"k": 0}, False),
    ({"k": 0}, {"k": False}, False),
    ({"k": 1}, {"k": "1"}, False),
    ({"k": "1"}, {"k": 1}, False),
    ({"k": True}, {"k": True}, True),
    ({"k": ""}, {"k": ""}, True),
    ({"k": ""}, {"k": 0}, False),
    ({"k": 2**53 + 1}, {"k": float(2**53)}, False),  # exact, not float-rounded
    ({"k": {"$ne": 1}}, {"k": True}, True),
    ({"k": {"$ne": 1}}, {"k": 1.0}, False),
    ({"k": {"$ne": "1"}}, {"k": 1}, True),
    ({"k": {"$in": [1]}}, {"k": 1.0}, True),
    ({"k": {"$in": [1]}}, {"k": True}, False),
    ({"k": {"$in": [True]}}, {"k": 1}, False),
    ({"k": {"$in": ["1", 2]}}, {"k": 1}, False),
    ({"k": {"$in": [False, "a"]}}, {"k": False}, True),
    ({"k": {"$nin": [1]}}, {"k": True}, True),
    ({"k": {"$nin": [1.0]}}, {"k": 1}, False),
    # ranges by kind; strings in code-point order
    ({"k": {"$gt": 1}}, {"k": 1.5}, True),
    ({"k": {"$gt": 1}}, {"k": 1}, False),
    ({"k": {"$gte": 1}}, {"k": 1.0}, True),
    ({"k": {"$lt": 2.5}}, {"k": 2}, True),
    ({"k": {"$lte": -3}}, {"k": -3.0}, True),
    ({"k": {"$gt": 2**53}}, {"k": 2**53 + 1}, True),
    ({"k": {"$gt": 0}}, {"k": True}, False),  # a bool is not a number
    ({"k": {"$lt": 5}}, {"k": False}, False),
    ({"k": {"$gt": 1}}, {"k": "2"}, False),  # across kinds: nothing
    ({"k": {"$lt": "b"}}, {"k": 1}, False),
    ({"k": {"$lt": "b"}}, {"k": "a"}, True),
    ({"k": {"$lt": "b"}}, {"k": "B"}, True),  # 'B' (66) < 'b' (98)
    ({"k": {"$gt": "z"}}, {"k": "é"}, True),  # U+00E9 > 'z'
    ({"k": {"$gt": "a"}}, {"k": "ab"}, True),
    ({"k": {"$lt": "a"}}, {"k": ""}, True),
    ({"k": {"$gte": "2024-01-31"}}, {"k": "2024-02-01"}, True),
    ({"k": {"$lt": "2024-01-31"}}, {"k": "2024-01-31T00:00"}, False),
    ({"k": {"$lt": "10"}}, {"k": "9"}, False),  # strings are not numbers
    ({"k": {"$gt": 1, "$lt": 3}}, {"k": 2}, True),
    ({"k": {"$gt": 1, "$lt": 3}}, {"k": 3}, False),
    # a missing key: $ne, $nin, $exists false and $not match; everything else does not
    ({"k": {"$ne": 1}}, MISSING, True),
    ({"k": {"$nin": [1]}}, MISSING, True),
    ({"k": {"$exists": False}}, MISSING, True),
    ({"$not": {"k": 1}}, MISSING, True),
    ({"$not": {"k": {"$gt": 1}}}, MISSING, True),
    ({"k": 1}, MISSING, False),
    ({"k": {"$eq": ""}}, MISSING, False),
    ({"k": {"$eq": False}}, MISSING, False),
    ({"k": {"$gt": -(2**63)}}, MISSING, False),
    ({"k": {"$lte": "~"}}, MISSING, False),
    ({"k": {"$in": [1, "a", True]}}, MISSING, False),
    ({"k": {"$exists": True}}, MISSING, False),
    ({"$not": {"k": {"$ne": 1}}}, MISSING, False),
    ({"$not": {"k": {"$exists": False}}}, MISSING, False),
    ({"other": 1}, {"k": 1}, False),
    ({"k": {"$exists": True}}, {"k": False}, True),
    ({"k": {"$exists": True}}, {"k": ""}, True),
    # empty $in / $nin
    ({"k": {"$in": []}}, {"k": 1}, False),
    ({"k": {"$in": []}}, MISSING, False),
    ({"k": {"$nin": []}}, {"k": 1}, True),
    ({"k": {"$nin": []}}, MISSING, True),
    # logic
    ({"$and": [{"a": 1}, {"b": 2}]}, {"a": 1, "b": 2}, True),
    ({"$and": [{"a": 1}, {"b": 2}]}, {"a": 1, "b": 3}, False),
    ({"$or": [{"a": 1}, {"b": 2}]}, {"a": 0, "b": 2}, True),
    ({"$or": [{"a": 1}, {"b": 2}]}, {"a": 0}, False),
    ({"a": 1, "b": 2}, {"a": 1}, False),
    ({"$not": {"$or": [{"a": 1}, {"b": 2}]}}, {"a": 0, "b": 0}, True),
    ({"$not": {"$not": {"a": 1}}}, {"a": 1}, True),
]


@pytest.mark.parametrize(("spec", "metadata", "expected"), SEMANTICS)
def test_evaluator_semantics(spec: dict[str, Any], metadata: dict[str, Any],
                             expected: bool) -> None:
    assert matches(parse_filter(spec), metadata) is expected


VALUES: list[Any] = [1, 1.0, True, False, "1", "", 0, -3, 2.5, "a", "é", 2**62]


def test_not_is_the_exact_complement() -> None:
    """$not of anything is its complement, over present and missing keys alike; $ne / $nin
    are the complements of $eq / $in."""
    rng = random.Random(5)
    records = [{}] + [{"k": v} for v in VALUES] + [{"j": v} for v in VALUES[:3]]
    leaves: list[dict[str, Any]] = []
    for v in VALUES:
        leaves.append({"k": v})
        leaves.append({"k": {"$in": [v, rng.choice(VALUES)]}})
        if not isinstance(v, bool):
            leaves.extend({"k": {op: v}} for op in ("$gt", "$gte", "$lt", "$lte"))
    leaves += [{"k": {"$exists": True}}, {"k": {"$in": []}}]
    for leaf, md in itertools.product(leaves, records):
        node = parse_filter(leaf)
        assert matches(parse_filter({"$not": leaf}), md) is (not matches(node, md)), (leaf, md)
        (key, cond), = leaf.items()
        if not isinstance(cond, dict):
            flipped = {key: {"$ne": cond}}
        elif "$in" in cond:
            flipped = {key: {"$nin": cond["$in"]}}
        elif "$exists" in cond:
            flipped = {key: {"$exists": not cond["$exists"]}}
        else:
            continue
        assert matches(parse_filter(flipped), md) is (not matches(node, md)), (flipped, md)


def test_compiled_predicate_is_reusable() -> None:
    predicate = compile_predicate(parse_filter({"k": {"$in": [1, "x"]}}))
    assert [predicate(md) for md in ({"k": 1.0}, {"k": "x"}, {"k": True}, {})] == [
        True, True, False, False]


@pytest.mark.parametrize(("stored", "wanted", "expected"), [
    (1, 1.0, True), (True, 1, False), (1, True, False), ("1", 1, False), ("a", "a", True),
    (False, False, True), (None, None, False), (0.0, -0.0, True),
])
def test_values_equal(stored: object, wanted: object, expected: bool) -> None:
    assert values_equal(stored, wanted) is expected
