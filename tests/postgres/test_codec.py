"""Pure helpers of the PostgreSQL backend (no server needed)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from agent_brain.backends.postgres import names
from agent_brain.backends.postgres.bm25 import normalized, tsquery
from agent_brain.backends.postgres.codec import float_literal, metadata_json, numeric
from agent_brain.backends.postgres.pool import with_database
from agent_brain.backends.postgres.vectors import query_settings, score
from agent_brain.config import IndexSettings


@pytest.mark.parametrize("value", [1.0, 0.1, 1e16, 1e-7, -2.5e-300, 1.5e300, 2.0**60,
                                   5e-324, 123456.789, -0.5, 9007199254740993.0])
def test_float_literal_round_trips_as_float(value: float) -> None:
    text = float_literal(value)
    assert "." in text
    assert "e" not in text.lower()
    back = json.loads(text)
    assert isinstance(back, float)
    assert back == value


def test_numeric_orders_like_python() -> None:
    values = [2**60, float(2**60), 2**60 + 1, 0.1, 0.30000000000000004, 0.3, 1, True is False]
    numbers = [v for v in values if not isinstance(v, bool)]
    for a in numbers:
        for b in numbers:
            assert (numeric(a) < numeric(b)) == (a < b), (a, b)
            assert (numeric(a) == numeric(b)) == (a == b), (a, b)
    assert numeric(1) == Decimal(1)


def test_metadata_json_keeps_types() -> None:
    text = metadata_json({"i": 1, "f": 1.0, "b": True, "s": "1", "u": "é\"\\"})
    assert json.loads(text) == {"i": 1, "f": 1.0, "b": True, "s": "1", "u": "é\"\\"}
    assert [type(v) for v in json.loads(text).values()] == [int, float, bool, str, str]


def test_tsquery_quotes_every_lexeme() -> None:
    assert tsquery(["a", "b"]) == "'a' | 'b'"
    assert tsquery(["it's", "x:*", "a\\b"]) == "'it''s' | 'x:*' | 'a\\\\b'"


def test_partition_names_are_derived_from_integers_only() -> None:
    assert names.partition("chunks", 12) == "agent_brain.chunks_p12"
    for bad in (0, -1, True, "1", 1.0):
        with pytest.raises(ValueError, match="positive integers"):
            names.partition("chunks", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="partitioned"):
        names.partition("store; DROP", 1)


def test_scores_are_clamped() -> None:
    assert score(0.0) == 1.0
    assert score(2.0) == 0.0
    assert score(2.0000001) == 0.0
    assert score(-1e-7) == 1.0
    assert score(1.0) == 0.5
    assert normalized(5.0, 10.0) == 0.5
    assert normalized(-1.0, 10.0) == 0.0
    assert normalized(3.0, 0.0) == 0.0
    assert normalized(20.0, 10.0) == 1.0


def test_query_settings() -> None:
    index = IndexSettings()
    assert dict(query_settings(index, 10, True)) == {
        "hnsw.ef_search": "100", "hnsw.iterative_scan": "strict_order",
        "hnsw.max_scan_tuples": "20000",
    }
    ivfflat = IndexSettings(kind="ivfflat", probes=7)
    assert dict(query_settings(ivfflat, 10, True)) == {
        "ivfflat.probes": "7", "ivfflat.iterative_scan": "relaxed_order"}
    assert dict(query_settings(ivfflat, 10, False)) == {"ivfflat.probes": "7"}
    assert dict(query_settings(index, 500, False))["hnsw.ef_search"] == "500"
    assert dict(query_settings(index, 5000, False))["hnsw.ef_search"] == "1000"
    assert "hnsw.iterative_scan" not in dict(query_settings(index, 10, False))


def test_with_database() -> None:
    assert with_database("postgresql://u@h:1/a?sslmode=x", "b") == "postgresql://u@h:1/b?sslmode=x"
    assert with_database("postgresql://postgres:@/postgres?host=/tmp/s", "x") == (
        "postgresql://postgres:@/x?host=/tmp/s")
