"""Rank fusion (pure functions over typed hits) and HybridSearcher's argument checks, the
latter over a real embedded ChromaBackend."""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent_brain import Chunk, HybridSearcher, StorageBackendProtocol, create_backend, load_config
from agent_brain.errors import BackendUnavailableError, FilterError, InvalidInputError
from agent_brain.fusion import Hit, normalize, reciprocal_rank_fusion, weighted_fusion


def leg(*items: tuple[str, float]) -> list[Hit]:
    """A ranked leg from (id, score) pairs in rank order."""
    return [Hit(doc, rank, score) for rank, (doc, score) in enumerate(items, start=1)]


def as_dict(fused: list[Any]) -> dict[str, float]:
    return {f.id: f.score for f in fused}


# ---------------------------------------------------------------- RRF


def test_rrf_rank_one_everywhere_is_one() -> None:
    for legs_count in (1, 2, 3):
        legs = [leg(("top", 0.9), ("x", 0.5)) for _ in range(legs_count)]
        fused = reciprocal_rank_fusion(legs, k=60)
        assert fused[0].id == "top"
        assert fused[0].score == pytest.approx(1.0, abs=1e-15)


def test_rrf_formula_normalised_by_the_best_reachable_sum() -> None:
    k = 10.0
    vector = leg(("a", 0.9), ("b", 0.8), ("c", 0.1))
    keyword = leg(("b", 0.7), ("d", 0.6))
    scores = as_dict(reciprocal_rank_fusion([vector, keyword], k))
    best = 2 / (k + 1)
    assert scores == pytest.approx({
        "a": (1 / (k + 1)) / best,
        "b": (1 / (k + 2) + 1 / (k + 1)) / best,
        "c": (1 / (k + 3)) / best,
        "d": (1 / (k + 2)) / best,
    })
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    # raw scores do not matter to RRF, only ranks
    rescored = [leg(("a", 0.0), ("b", 0.0), ("c", 0.0)), leg(("b", 5.0), ("d", -1.0))]
    assert as_dict(reciprocal_rank_fusion(rescored, k)) == scores


def test_rrf_missing_in_one_leg_counts_nothing_there() -> None:
    scores = as_dict(reciprocal_rank_fusion([leg(("only-vector", 1.0)), leg(("kw", 1.0))], 60))
    assert scores == {"only-vector": pytest.approx(0.5), "kw": pytest.approx(0.5)}


def test_rrf_ties_are_ordered_by_id() -> None:
    fused = reciprocal_rank_fusion([leg(("zeta", 1), ("m", 1)), leg(("alpha", 1), ("b", 1))], 60)
    assert [f.id for f in fused] == ["alpha", "zeta", "b", "m"]
    again = reciprocal_rank_fusion([leg(("alpha", 1), ("b", 1)), leg(("zeta", 1), ("m", 1))], 60)
    assert [f.id for f in again] == [f.id for f in fused]


def test_rrf_edge_cases() -> None:
    assert reciprocal_rank_fusion([], 60) == []
    assert reciprocal_rank_fusion([[], []], 60) == []
    for k in (0, -1):
        with pytest.raises(ValueError, match="rrf k"):
            reciprocal_rank_fusion([leg(("a", 1))], k)


# ---------------------------------------------------------------- weighted


VECTOR = leg(("a", 0.9), ("b", 0.7), ("c", 0.5))
KEYWORD = leg(("c", 0.8), ("d", 0.4), ("a", 0.2))


def test_weighted_alpha_one_is_pure_vector_and_zero_pure_keyword() -> None:
    for normalization in ("minmax", "absolute"):
        pure_vector = weighted_fusion(VECTOR, KEYWORD, 1.0, normalization)
        assert [f.id for f in pure_vector][:3] == ["a", "b", "c"]
        assert as_dict(pure_vector)["d"] == 0.0  # keyword-only: present, scored 0
        pure_keyword = weighted_fusion(VECTOR, KEYWORD, 0.0, normalization)
        assert [f.id for f in pure_keyword][:3] == ["c", "d", "a"]
        assert as_dict(pure_keyword)["b"] == 0.0


def test_weighted_minmax() -> None:
    scores = as_dict(weighted_fusion(VECTOR, KEYWORD, 0.5, "minmax"))
    # vector minmax: a 1, b 0.5, c 0; keyword minmax: c 1, d 1/3, a 0
    assert scores == pytest.approx({"a": 0.5, "b": 0.25, "c": 0.5, "d": 1 / 6})
    assert [f.id for f in weighted_fusion(VECTOR, KEYWORD, 0.5)] == ["a", "c", "b", "d"]
    alpha = as_dict(weighted_fusion(VECTOR, KEYWORD, 0.8, "minmax"))
    assert alpha == pytest.approx({"a": 0.8, "b": 0.4, "c": 0.2, "d": 0.2 / 3})


def test_weighted_absolute_uses_reported_scores_clamped() -> None:
    scores = as_dict(weighted_fusion(VECTOR, KEYWORD, 0.5, "absolute"))
    assert scores == pytest.approx({"a": 0.55, "b": 0.35, "c": 0.65, "d": 0.2})
    clamped = as_dict(weighted_fusion(leg(("x", 1.5)), leg(("y", -0.5)), 0.5, "absolute"))
    assert clamped == {"x": 0.5, "y": 0.0}


def test_weighted_ties_and_flat_legs() -> None:
    # a flat leg (all equal, or one hit) normalises to 1 for every hit under minmax
    assert normalize(leg(("a", 0.3), ("b", 0.3)), "minmax") == {"a": 1.0, "b": 1.0}
    assert normalize(leg(("a", 0.3)), "minmax") == {"a": 1.0}
    assert normalize([], "minmax") == {}
    assert normalize([], "absolute") == {}
    fused = weighted_fusion(leg(("q", 0.3), ("p", 0.3)), leg(("o", 0.9)), 0.5)
    assert [(f.id, f.score) for f in fused] == [("o", 0.5), ("p", 0.5), ("q", 0.5)]


def test_weighted_scores_in_unit_interval() -> None:
    for alpha in (0.0, 0.25, 0.5, 1.0):
        for normalization in ("minmax", "absolute"):
            for f in weighted_fusion(VECTOR, KEYWORD, alpha, normalization):
                assert 0.0 <= f.score <= 1.0


@pytest.mark.parametrize("alpha", [-0.01, 1.01, float("nan")])
def test_weighted_alpha_out_of_range(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        weighted_fusion(VECTOR, KEYWORD, alpha)


# ---------------------------------------------------------------- HybridSearcher checks

DIM = 4


def config_at(path: Path) -> Any:
    config = load_config(environ=False)
    config.storage.chroma.path = str(path)
    config.embedding.dimension = DIM
    return config


@pytest.fixture(scope="module")
async def backend(tmp_path_factory: pytest.TempPathFactory
                  ) -> AsyncIterator[StorageBackendProtocol]:
    store = create_backend(config_at(tmp_path_factory.mktemp("hybrid") / "chroma"))
    async with store:
        await store.upsert([
            Chunk("a", "apple river", [1.0, 0.0, 0.0, 0.0], {"n": 1}),
            Chunk("b", "apple stone", [0.0, 1.0, 0.0, 0.0], {"n": 2}),
            Chunk("c", "river comet", [0.7, 0.7, 0.0, 0.0], {"n": 3}),
            Chunk("d", "harbor", None, {"n": 4}),
        ])
        yield store


QUERY = [1.0, 0.1, 0.0, 0.0]
BAD_ARGUMENTS: list[dict[str, Any]] = [
    {"mode": "semantic"}, {"mode": "Hybrid"}, {"mode": 1},
    {"fusion": "max"}, {"fusion": "RRF"}, {"fusion": 1},
    {"alpha": -0.1}, {"alpha": 1.0001}, {"alpha": "0.5"}, {"alpha": True},
    {"alpha": float("nan")},
    {"rrf_k": 0}, {"rrf_k": -1.0}, {"rrf_k": "60"}, {"rrf_k": True}, {"rrf_k": float("nan")},
    {"candidates": 0}, {"candidates": -5}, {"candidates": 2.5}, {"candidates": True},
    {"candidates": "100"},
    {"top_k": 0}, {"top_k": True}, {"top_k": 10_001},
]


async def test_bad_arguments_are_refused(backend: StorageBackendProtocol) -> None:
    searcher = HybridSearcher(backend)
    for kwargs in BAD_ARGUMENTS:
        (name,) = kwargs  # the message names the refused argument
        with pytest.raises(InvalidInputError, match=f"^{name} must be"):
            await searcher.search("apple", QUERY, **{"fusion": "rrf", **kwargs})
        with pytest.raises(InvalidInputError, match=f"^{name} must be"):
            await searcher.search("apple", QUERY, **{"fusion": "weighted", **kwargs})


async def test_infinite_rrf_k_is_refused(backend: StorageBackendProtocol) -> None:
    searcher = HybridSearcher(backend)
    with pytest.raises(InvalidInputError, match="rrf_k"):
        await searcher.search("apple", QUERY, fusion="rrf", rrf_k=float("inf"))


@pytest.mark.parametrize("kwargs", [{"mode": ""}, {"fusion": ""}, {"fusion": 0}])
async def test_falsy_mode_or_fusion_is_refused(backend: StorageBackendProtocol,
                                               kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        await HybridSearcher(backend).search("apple", QUERY, **kwargs)


async def test_missing_inputs_and_bad_filters(backend: StorageBackendProtocol) -> None:
    searcher = HybridSearcher(backend)
    with pytest.raises(InvalidInputError, match="query_text"):
        await searcher.search(None, QUERY, mode="keyword")
    for mode in ("vector", "hybrid"):
        with pytest.raises(InvalidInputError, match="query_embedding"):
            await searcher.search("apple", None, mode=mode)
    with pytest.raises(FilterError, match=r"filters\['n'\]\['\$gt'\]"):
        await searcher.search("apple", QUERY, filters={"n": {"$gt": [1]}})


async def test_missing_text_in_hybrid_leaves_no_unawaited_coroutine(
    backend: StorageBackendProtocol,
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InvalidInputError, match="query_text"):
            await HybridSearcher(backend).search(None, QUERY, mode="hybrid")
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []


async def test_arguments_are_checked_before_the_backend_is_touched(tmp_path: Path) -> None:
    """On a backend that was never opened, good arguments reach it (BackendUnavailableError)
    and bad ones never do (InvalidInputError): the checks run before either leg."""
    unopened = create_backend(config_at(tmp_path / "never-opened"))
    searcher = HybridSearcher(unopened)
    with pytest.raises(BackendUnavailableError):
        await searcher.search("apple", QUERY, fusion="rrf")
    for kwargs in [*BAD_ARGUMENTS, {"filters": {"$nope": 1}}]:
        with pytest.raises(InvalidInputError):
            await searcher.search("apple", QUERY, **{"fusion": "rrf", **kwargs})


@pytest.mark.parametrize(("mode", "fusion", "alpha"), [
    ("vector", None, None), ("keyword", None, None), ("hybrid", "rrf", None),
    ("hybrid", "weighted", 0.0), ("hybrid", "weighted", 0.5), ("hybrid", "weighted", 1),
    ("hybrid", None, None),
])
async def test_valid_arguments_search(backend: StorageBackendProtocol, mode: str,
                                      fusion: str | None, alpha: float | None) -> None:
    """The positive control of the refusals above: every mode and fusion answers."""
    results = await HybridSearcher(backend).search(
        "apple river", QUERY, top_k=3, mode=mode, fusion=fusion, alpha=alpha,  # type: ignore[arg-type]
        candidates=2)
    assert 1 <= len(results) <= 3
    assert [r.rank for r in results] == list(range(1, len(results) + 1))
    assert all(0.0 <= r.score <= 1.0 for r in results)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert results[0].id == "a"  # best on both legs
    if mode == "hybrid":
        top = results[0]
        assert top.vector_rank == 1
        assert top.keyword_rank == 1
        assert top.vector_score is not None
        assert top.keyword_score is not None
        if fusion == "rrf":
            assert top.score == pytest.approx(1.0)


async def test_backend_satisfies_the_protocol(backend: StorageBackendProtocol) -> None:
    assert isinstance(backend, StorageBackendProtocol)
    assert backend.capabilities.name == "chroma"
