"""Input checks run before anything is written: each refusal names the offending item
(``chunks[i]...``) and says nothing was written."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from agent_brain import Chunk
from agent_brain.errors import DimensionMismatchError, InvalidInputError
from agent_brain.validation import (
    MAX_ID_LENGTH,
    check_ids,
    check_limit_offset,
    check_namespace,
    check_query_embedding,
    check_query_text,
    check_top_k,
    validate_chunks,
)

DIM = 4
GOOD = [0.1, 0.2, 0.3, 0.4]


def ok(i: int, **changes: Any) -> Chunk:
    fields: dict[str, Any] = {"id": f"c{i}", "text": f"text {i}", "embedding": GOOD,
                              "metadata": {"n": i}}
    fields.update(changes)
    return Chunk(**fields)


def batch_with(bad: Chunk, at: int = 2, size: int = 4) -> list[Chunk]:
    """``size`` valid chunks with ``bad`` at index ``at``."""
    chunks = [ok(i) for i in range(size)]
    chunks[at] = bad
    return chunks


REFUSALS: list[tuple[Chunk, str, type[InvalidInputError]]] = [
    (ok(2, id=""), "chunks[2].id must be a non-empty string", InvalidInputError),
    (ok(2, id=7), "chunks[2].id must be a non-empty string", InvalidInputError),
    (ok(2, id="x" * (MAX_ID_LENGTH + 1)), "chunks[2].id is 513 characters", InvalidInputError),
    (ok(2, id="a\x00b"), "chunks[2].id contains a NUL", InvalidInputError),
    (ok(2, id="c0"), "chunks[2].id 'c0' repeats chunks[0].id", InvalidInputError),
    (ok(2, text=b"bytes"), "chunks[2].text must be a str", InvalidInputError),
    (ok(2, text=None), "chunks[2].text must be a str", InvalidInputError),
    (ok(2, text="ab\x00c"), "chunks[2].text contains a NUL character (\\x00) at offset 2",
     InvalidInputError),
    (ok(2, metadata=[("a", 1)]), "chunks[2].metadata must be a dict", InvalidInputError),
    (ok(2, metadata={"": 1}), "chunks[2].metadata['']", InvalidInputError),
    (ok(2, metadata={"$k": 1}), "chunks[2].metadata['$k']", InvalidInputError),
    (ok(2, metadata={"a\x00": 1}), "chunks[2].metadata['a\\x00']", InvalidInputError),
    (ok(2, metadata={3: 1}), "chunks[2].metadata[3]", InvalidInputError),
    (ok(2, metadata={"k": [1, 2]}), "chunks[2].metadata['k'] is a list", InvalidInputError),
    (ok(2, metadata={"k": None}), "chunks[2].metadata['k'] is a NoneType", InvalidInputError),
    (ok(2, metadata={"k": {"a": 1}}), "chunks[2].metadata['k'] is a dict", InvalidInputError),
    (ok(2, metadata={"k": 2**63}), "chunks[2].metadata['k']: integer", InvalidInputError),
    (ok(2, metadata={"k": -(2**63) - 1}), "chunks[2].metadata['k']: integer",
     InvalidInputError),
    (ok(2, metadata={"k": float("nan")}), "chunks[2].metadata['k'] is nan", InvalidInputError),
    (ok(2, metadata={"k": float("-inf")}), "chunks[2].metadata['k'] is -inf",
     InvalidInputError),
    (ok(2, metadata={"k": "a\x00"}), "chunks[2].metadata['k'] contains a NUL",
     InvalidInputError),
    (ok(2, embedding=[0.1, 0.2, 0.3]), "chunks[2].embedding has 3 dimensions",
     DimensionMismatchError),
    (ok(2, embedding=[0.1] * 5), "chunks[2].embedding has 5 dimensions",
     DimensionMismatchError),
    (ok(2, embedding=[0.1, float("nan"), 0.3, 0.4]), "chunks[2].embedding[1] is nan",
     InvalidInputError),
    (ok(2, embedding=[0.1, 0.2, 0.3, float("inf")]), "chunks[2].embedding[3] is inf",
     InvalidInputError),
    (ok(2, embedding=[0.0] * DIM), "chunks[2].embedding is all zeros", InvalidInputError),
    (ok(2, embedding="0.1 0.2"), "chunks[2].embedding must be a sequence", InvalidInputError),
    (ok(2, embedding=[]), "chunks[2].embedding must be a flat, non-empty", InvalidInputError),
    (ok(2, embedding=[[0.1, 0.2], [0.3, 0.4]]), "chunks[2].embedding must be a flat",
     InvalidInputError),
    (ok(2, embedding=[0.1, "x", 0.3, 0.4]), "chunks[2].embedding must contain only numbers",
     InvalidInputError),
    (ok(2, embedding=5), "chunks[2].embedding must be a sequence", InvalidInputError),
]


@pytest.mark.parametrize(("bad", "message", "error"), REFUSALS,
                         ids=[m for _, m, _ in REFUSALS])
def test_each_refusal_names_the_chunk(bad: Chunk, message: str,
                                      error: type[InvalidInputError]) -> None:
    with pytest.raises(error) as info:
        validate_chunks(batch_with(bad), DIM)
    assert message in info.value.message
    assert "(nothing was written)" in info.value.message


@pytest.mark.parametrize("chunks", [ok(0), "abc", None, 5, {"id": "a"}])
def test_batch_must_be_a_list_of_chunks(chunks: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_chunks(chunks, DIM)
    assert "nothing was written" in info.value.message


def test_non_chunk_item_is_named() -> None:
    with pytest.raises(InvalidInputError, match=r"chunks\[1\] is a dict"):
        validate_chunks([ok(0), {"id": "x", "text": "y"}], DIM)


def test_dimension_error_is_an_invalid_input_error() -> None:
    assert issubclass(DimensionMismatchError, InvalidInputError)


def test_valid_batch_passes_and_is_normalised() -> None:
    metadata = {"z": -0.0, "i": 2**63 - 1, "lo": -(2**63), "b": True, "s": "", "f": 1.5}
    chunks = [
        ok(0, metadata=metadata, embedding=np.array(GOOD)),
        ok(1, embedding=None, metadata={}),
        ok(2, id="x" * MAX_ID_LENGTH, text=""),
    ]
    batch = validate_chunks(chunks, DIM)
    assert [c.id for c in batch.chunks] == ["c0", "c1", "x" * MAX_ID_LENGTH]
    z = batch.chunks[0].metadata["z"]
    assert z == 0.0
    assert math.copysign(1.0, z) == 1.0
    assert batch.chunks[0].metadata["i"] == 2**63 - 1
    assert batch.chunks[0].metadata["b"] is True
    assert metadata["z"] == 0.0
    assert math.copysign(1.0, metadata["z"]) == -1.0
    assert batch.chunks[0].metadata is not metadata  # a copy
    assert batch.vectors[1] is None
    for i in (0, 2):
        vector = batch.vectors[i]
        assert vector is not None
        assert vector.dtype == np.float32
        np.testing.assert_allclose(vector, GOOD, rtol=1e-6)


def test_empty_batch_is_valid() -> None:
    batch = validate_chunks([], DIM)
    assert batch.chunks == []
    assert batch.vectors == []


def test_first_problem_in_order_is_reported() -> None:
    chunks = [ok(0), ok(1, metadata={"k": None}), ok(2, id="")]
    with pytest.raises(InvalidInputError, match=r"chunks\[1\]"):
        validate_chunks(chunks, DIM)


# ---------------------------------------------------------------- namespaces


@pytest.mark.parametrize("name", ["a", "default", "a-b", "a_b", "A9", "-", "_", "--x",
                                  "0", "x" * 63, "Team-A_42"])
def test_valid_namespaces(name: str) -> None:
    assert check_namespace(name) == name


@pytest.mark.parametrize("name", ["", "x" * 64, "a b", "a.b", "a/b", "a:b", "é", "٣", "ａ",
                                  "a\n", "\na", " a", "a\x00", "ab*", None, 5, b"ab",
                                  ["a"]])
def test_invalid_namespaces(name: object) -> None:
    with pytest.raises(InvalidInputError, match="invalid namespace"):
        check_namespace(name)


# ---------------------------------------------------------------- top_k, ids, paging, query


@pytest.mark.parametrize("top_k", [1, 7, 100])
def test_valid_top_k(top_k: int) -> None:
    assert check_top_k(top_k, 100) == top_k


@pytest.mark.parametrize("top_k", [0, -1, 101, True, False, 1.0, "3", None])
def test_invalid_top_k(top_k: object) -> None:
    with pytest.raises(InvalidInputError, match="top_k must be an integer from 1 to 100"):
        check_top_k(top_k, 100)


def test_ids_checks() -> None:
    assert check_ids(["a", "a", "b"]) == ["a", "a", "b"]
    assert check_ids(("a",)) == ["a"]
    assert check_ids([]) == []
    for bad in ("abc", 5, None):
        with pytest.raises(InvalidInputError, match="ids must be a list of strings"):
            check_ids(bad)
    with pytest.raises(InvalidInputError, match=r"ids\[1\] must be a non-empty string"):
        check_ids(["a", ""])
    with pytest.raises(InvalidInputError, match=r"ids\[0\]"):
        check_ids([3])


@pytest.mark.parametrize(("limit", "offset"), [(-1, 0), (True, 0), (1.5, 0), (None, -1),
                                               (None, False), (None, None), ("1", 0)])
def test_invalid_limit_offset(limit: object, offset: object) -> None:
    with pytest.raises(InvalidInputError):
        check_limit_offset(limit, offset)


def test_valid_limit_offset() -> None:
    assert check_limit_offset(None, 0) == (None, 0)
    assert check_limit_offset(0, 5) == (0, 5)


def test_query_embedding_valid() -> None:
    vector = check_query_embedding([0.0, 0.0, 1.0, 0.0], DIM)
    assert vector.dtype == np.float32
    assert vector.tolist() == [0.0, 0.0, 1.0, 0.0]
    assert check_query_embedding(np.ones(DIM, dtype=np.float64), DIM).dtype == np.float32


@pytest.mark.parametrize(("embedding", "error", "message"), [
    ([0.0] * DIM, InvalidInputError, "all zeros"),
    ([0.1, float("nan"), 0.2, 0.3], InvalidInputError, "query embedding[1] is nan"),
    ([0.1, 0.2, 0.3, float("-inf")], InvalidInputError, "query embedding[3] is -inf"),
    ([0.1] * 3, DimensionMismatchError, "query embedding has 3 dimensions"),
    ([0.1] * 5, DimensionMismatchError, "query embedding has 5 dimensions"),
    ([float("nan")] * 5, DimensionMismatchError, "5 dimensions"),  # length checked first
    ("text", InvalidInputError, "must be a sequence"),
    ([], InvalidInputError, "non-empty"),
])
def test_query_embedding_refusals(embedding: object, error: type[InvalidInputError],
                                  message: str) -> None:
    with pytest.raises(error) as info:
        check_query_embedding(embedding, DIM)
    assert type(info.value) is error
    assert message in info.value.message


def test_query_text() -> None:
    assert check_query_text("") == ""
    with pytest.raises(InvalidInputError, match="NUL"):
        check_query_text("a\x00")
    with pytest.raises(InvalidInputError, match="must be a str"):
        check_query_text(b"a")


def test_numeric_strings_in_embeddings_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="only numbers"):
        validate_chunks([ok(0, embedding=["0.1", "0.2", "0.3", "0.4"])], DIM)
    with pytest.raises(InvalidInputError, match="only numbers"):
        check_query_embedding(["1", "0", "0", "0"], DIM)
