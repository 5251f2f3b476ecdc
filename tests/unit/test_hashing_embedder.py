"""HashingEmbedder: the offline default embedder is deterministic, unit-norm, of the
configured dimension, and puts lexically similar texts closer than unrelated ones."""

from __future__ import annotations

import numpy as np
import pytest

from agent_brain.embedders import Embedder, HashingEmbedder

TEXTS = [
    "Aspirin reduces the risk of heart attacks in adults.",
    "COVID-19 vaccines trigger T-cells responses.",
    "",
    "the and of",  # stop words only: no term
    "Rivers flow into the sea; the sea feeds the clouds.",
    "日本語のテキスト",
]


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("dimension", [8, 64, 384, 1000])
def test_dimension_and_unit_norm(dimension: int) -> None:
    embedder = HashingEmbedder(dimension)
    assert embedder.dimension == dimension
    assert str(dimension) in embedder.model_id
    for text in TEXTS:
        vector = embedder.embed_one(text)
        assert len(vector) == dimension
        assert all(isinstance(x, float) for x in vector)
        assert np.all(np.isfinite(vector))
        assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-6)


def test_texts_without_terms_get_a_fixed_valid_vector() -> None:
    embedder = HashingEmbedder(16)
    assert embedder.embed_one("") == [1.0] + [0.0] * 15
    assert embedder.embed_one("the and of ...") == embedder.embed_one("")


def test_deterministic_across_instances() -> None:
    a, b = HashingEmbedder(128), HashingEmbedder(128)
    for text in TEXTS:
        assert a.embed_one(text) == b.embed_one(text)
        assert a.embed_one(text) == a.embed_one(text)
    assert a.model_id == b.model_id != HashingEmbedder(64).model_id


def test_known_vector_is_stable() -> None:
    """Pins the hashing scheme: a changed hash silently breaks every existing store, so a
    change here must come with a new model_id."""
    vector = HashingEmbedder(8).embed_one("apple river")
    assert HashingEmbedder(8).model_id == "agent-brain/hashing-v1-8"
    nonzero = sum(1 for x in vector if x != 0.0)
    assert 1 <= nonzero <= 3  # two terms and one bigram
    assert vector == HashingEmbedder(8).embed_one("Apple, RIVER!")  # same analyzed terms


def test_similar_texts_are_closer_than_unrelated_ones() -> None:
    embedder = HashingEmbedder(384)
    base = embedder.embed_one("aspirin lowers the risk of heart attack")
    similar = embedder.embed_one("the risk of a heart attack is lowered by aspirin")
    unrelated = embedder.embed_one("volcanic glaciers reflect purple moonlight")
    assert cosine(base, similar) > 0.5
    assert cosine(base, similar) > cosine(base, unrelated) + 0.3
    # inflections meet through the stemmer
    assert cosine(embedder.embed_one("running dogs"), embedder.embed_one("dog runs")) > 0.6


async def test_async_embed_and_protocol() -> None:
    embedder = HashingEmbedder(32)
    assert isinstance(embedder, Embedder)
    vectors = await embedder.embed(TEXTS[:3], kind="query")
    assert vectors == [embedder.embed_one(t) for t in TEXTS[:3]]
    assert await embedder.embed([]) == []


@pytest.mark.parametrize("dimension", [0, 1, 7, -5])
def test_too_small_dimension(dimension: int) -> None:
    with pytest.raises(ValueError, match="dimension"):
        HashingEmbedder(dimension)
