"""The write journal's record encoding: exact, compact, and readable from older journals."""

from __future__ import annotations

import json

import numpy as np

from agent_brain.backends.chroma.client import Record


def test_round_trip_is_bit_exact_and_compact() -> None:
    rng = np.random.default_rng(3)
    vector = rng.standard_normal(384).astype("<f4")
    vector[0] = np.float32(1e-38)  # a denormal-adjacent value survives too
    record = Record("a", "text", vector, {"u:k": 1})
    data = json.loads(json.dumps(record.to_json()))
    back = Record.from_json(data)
    assert (back.id, back.document, back.metadata) == ("a", "text", {"u:k": 1})
    assert np.asarray(back.embedding).tobytes() == vector.tobytes()
    as_numbers = json.dumps([float(x) for x in vector])
    assert len(json.dumps(data)) < len(as_numbers)


def test_reads_journals_written_with_json_numbers() -> None:
    """A journal left by a crash under an older version holds the embedding as numbers."""
    old = {"id": "a", "document": "t", "embedding": [0.5, -0.25], "metadata": None}
    record = Record.from_json(old)
    assert record.embedding == [0.5, -0.25]
    rewritten = Record.from_json(record.to_json())  # and re-journaled in the new encoding
    assert np.asarray(rewritten.embedding).tolist() == [0.5, -0.25]
