"""The plain-Python oracle: expected answers computed from the test data alone.

Filters: :func:`agent_brain.filters.compile_predicate` (the reference evaluator). Keyword
ranking: ``rank_bm25.BM25Okapi`` over ``Analyzer().terms(text)`` of the namespace. Vector
ranking: brute-force cosine with numpy over the float32 embeddings. Fusion: the formulas of
the design written out again here. Never the output of a backend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from rank_bm25 import BM25Okapi

from agent_brain import Chunk, SearchResult, StorageBackendProtocol
from agent_brain.config import KeywordSettings
from agent_brain.filters import compile_predicate, parse_filter
from agent_brain.keyword import Analyzer

VECTOR_TOL = 1e-5
"""Vector scores are computed in float32 by some engines."""
KEYWORD_TOL = 1e-6
"""Normalized keyword scores."""
KEYWORD_RANK_TOL = 1e-7
"""Raw BM25 scores closer than this (relative) may come in either order."""

_ANALYZER = Analyzer()


# --------------------------------------------------------------------------- filters
def matching(chunks: Iterable[Chunk], filters: Any) -> list[Chunk]:
    """The chunks ``filters`` selects, in the given order."""
    predicate = compile_predicate(parse_filter(filters))
    return [c for c in chunks if predicate(c.metadata)]


def normalized_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata as the store gives it back (``-0.0`` is normalised to ``0.0``)."""
    return {k: (0.0 if isinstance(v, float) and v == 0 else v) for k, v in metadata.items()}


def typed(metadata: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Metadata with each value's type made part of it, so ``1 == 1.0 == True`` cannot hide
    a lost type in an equality assertion."""
    return {k: (type(v).__name__, v) for k, v in metadata.items()}


def listing(chunks: Iterable[Chunk], filters: Any = None) -> list[str]:
    """Ids a filtered listing returns: matching chunks by id (code-point order)."""
    return sorted(c.id for c in matching(chunks, filters))


# --------------------------------------------------------------------------- vectors
def f32(vector: Sequence[float]) -> np.ndarray[Any, Any]:
    return np.asarray(vector, dtype=np.float32)


def vector_scores(chunks: Iterable[Chunk], query: Sequence[float]) -> dict[str, float]:
    """``(1 + cosine) / 2`` of every chunk with an embedding, computed in float64 over the
    float32 values the store keeps."""
    q = f32(query).astype(np.float64)
    q_norm = float(np.linalg.norm(q))
    out = {}
    for c in chunks:
        if c.embedding is None:
            continue
        v = f32(c.embedding).astype(np.float64)
        cosine = float(np.dot(v, q)) / (float(np.linalg.norm(v)) * q_norm)
        out[c.id] = (1.0 + cosine) / 2.0
    return out


# --------------------------------------------------------------------------- keywords
def terms(text: str) -> list[str]:
    return _ANALYZER.terms(text)


class KeywordOracle:
    """BM25 of one namespace, as ``rank_bm25.BM25Okapi`` computes it."""

    def __init__(self, chunks: Sequence[Chunk], settings: KeywordSettings,
                 zero_idf: bool = False) -> None:
        self.zero_idf = zero_idf
        """Whether a query term may sit in exactly half the documents (IDF 0: its hits
        score 0 but are still hits). Off by default, to catch test data that hits this
        corner by accident."""
        self.ids = [c.id for c in chunks]
        self.docs = [terms(c.text) for c in chunks]
        self.k1 = settings.k1
        self.bm25 = (
            BM25Okapi(self.docs, k1=settings.k1, b=settings.b, epsilon=settings.epsilon)
            if chunks else None
        )

    def raw(self, query: str) -> dict[str, float]:
        """BM25 score of every chunk holding at least one query term (the hits)."""
        if self.bm25 is None:
            return {}
        query_terms = terms(query)
        wanted = set(query_terms)
        for term in () if self.zero_idf else wanted:
            df = sum(1 for doc in self.docs if term in doc)
            assert 2 * df != len(self.docs) or df == 0, (
                f"test data problem: {term!r} is in exactly half the documents (idf 0)"
            )
        scores = self.bm25.get_scores(query_terms)
        return {
            doc_id: float(score)
            for doc_id, doc, score in zip(self.ids, self.docs, scores, strict=True)
            if wanted.intersection(doc)
        }

    def best_possible(self, query: str) -> float:
        """Σ over query terms with idf > 0 of qtf · idf · (k1 + 1)."""
        if self.bm25 is None:
            return 0.0
        total = 0.0
        for term, qtf in Counter(terms(query)).items():
            idf = self.bm25.idf.get(term)
            if idf is not None and idf > 0:
                total += qtf * idf * (self.k1 + 1)
        return total

    def normalized(self, query: str) -> dict[str, float]:
        raw = self.raw(query)
        best = self.best_possible(query)
        return {k: (min(1.0, max(0.0, v / best)) if best > 0 else 0.0) for k, v in raw.items()}


# --------------------------------------------------------------------------- rankings
def top(scores: Mapping[str, float], top_k: int) -> list[str]:
    """The oracle's order: descending score, ties by id (code-point order)."""
    return sorted(scores, key=lambda i: (-scores[i], i))[:top_k]


def assert_ranked(
    label: str, got: Sequence[str], scores: Mapping[str, float], top_k: int, tol: float
) -> None:
    """``got`` is the top ``top_k`` of ``scores`` by descending score, ties by id.

    Scores closer than ``tol`` (relative to max(1, |score|)) are near-ties that floating
    point may order either way; exactly equal oracle scores must come in id order, also at
    the top-k cut (the smaller ids are kept).
    """
    expected = top(scores, top_k)
    where = f"{label}\n  got      {list(got)}\n  expected {expected}"
    assert len(got) == len(expected), f"{len(got)} results instead of {len(expected)}: {where}"
    assert len(set(got)) == len(got), f"repeated ids: {where}"
    stray = [i for i in got if i not in scores]
    assert not stray, f"{stray} should not be results at all: {where}"
    for pos, (g, e) in enumerate(zip(got, expected, strict=True)):
        slack = tol * max(1.0, abs(scores[e]))
        assert abs(scores[g] - scores[e]) <= slack, (
            f"position {pos + 1} holds {g} (oracle score {scores[g]!r}) where {e} "
            f"(oracle score {scores[e]!r}) belongs: {where}"
        )
    for a, b in pairwise(got):
        if scores[a] == scores[b]:
            assert a < b, f"exact tie {a} / {b} not broken by id: {where}"
    kept = set(got)
    for candidate, score in scores.items():
        if candidate not in kept:
            for a in got:
                if scores[a] == score:
                    assert a < candidate, (
                        f"exact tie at the cut: {candidate} (smaller id) should be kept "
                        f"instead of {a}: {where}"
                    )


def assert_result_shape(results: Sequence[SearchResult], leg: str | None) -> None:
    """Ranks are 1..n, scores in [0, 1] and non-increasing, and (for a single-leg search)
    ``score``/``rank`` are that leg's evidence while the other leg's fields are None."""
    for pos, r in enumerate(results, start=1):
        assert r.rank == pos, f"{r.id}: rank {r.rank} at position {pos}"
        assert 0.0 <= r.score <= 1.0, f"{r.id}: score {r.score} outside [0, 1]"
        if leg == "vector":
            assert (r.vector_score, r.vector_rank) == (r.score, r.rank), r
            assert (r.keyword_score, r.keyword_rank) == (None, None), r
        elif leg == "keyword":
            assert (r.keyword_score, r.keyword_rank) == (r.score, r.rank), r
            assert (r.vector_score, r.vector_rank) == (None, None), r
    for a, b in pairwise(results):
        assert a.score >= b.score, f"scores not descending: {a.id} {a.score} < {b.id} {b.score}"


def assert_vector_results(
    label: str,
    results: Sequence[SearchResult],
    chunks: Sequence[Chunk],
    query: Sequence[float],
    top_k: int,
) -> None:
    """Vector search results equal the brute-force top-k, with correct scores and payload."""
    scores = vector_scores(chunks, query)
    assert_result_shape(results, "vector")
    assert_ranked(label, [r.id for r in results], scores, top_k, VECTOR_TOL)
    by_id = {c.id: c for c in chunks}
    for r in results:
        assert abs(r.score - scores[r.id]) <= VECTOR_TOL, (
            f"{label}: {r.id} vector_score {r.score}, oracle (1 + cos) / 2 = {scores[r.id]}"
        )
        assert_payload(label, r, by_id[r.id])


def assert_keyword_results(
    label: str,
    results: Sequence[SearchResult],
    oracle: KeywordOracle,
    chunks: Sequence[Chunk],
    query: str,
    top_k: int,
) -> None:
    """Keyword results equal BM25Okapi's top-k among the allowed ``chunks`` (a subset of the
    namespace the oracle was built on), with normalized scores."""
    allowed = {c.id for c in chunks}
    raw = {k: v for k, v in oracle.raw(query).items() if k in allowed}
    normalized = oracle.normalized(query)
    assert_result_shape(results, "keyword")
    assert_ranked(label, [r.id for r in results], raw, top_k, KEYWORD_RANK_TOL)
    by_id = {c.id: c for c in chunks}
    for r in results:
        assert abs(r.score - normalized[r.id]) <= KEYWORD_TOL, (
            f"{label}: {r.id} keyword_score {r.score}, oracle bm25 / best = {normalized[r.id]}"
        )
        assert_payload(label, r, by_id[r.id])


def assert_payload(label: str, result: SearchResult, chunk: Chunk) -> None:
    assert result.text == chunk.text, f"{label}: {result.id} text differs"
    assert typed(result.metadata) == typed(normalized_metadata(chunk.metadata)), (
        f"{label}: {result.id} metadata {result.metadata!r} != {chunk.metadata!r}"
    )


# --------------------------------------------------------------------------- fusion
def ranks(scores: Mapping[str, float], depth: int) -> dict[str, int]:
    return {doc: pos for pos, doc in enumerate(top(scores, depth), start=1)}


def rrf(legs: Sequence[Mapping[str, int]], k: float) -> dict[str, float]:
    """Σ 1 / (k + rank) over the legs, divided by the best reachable sum."""
    totals: dict[str, float] = {}
    for leg in legs:
        for doc, rank in leg.items():
            totals[doc] = totals.get(doc, 0.0) + 1.0 / (k + rank)
    best = len(legs) / (k + 1.0)
    return {doc: total / best for doc, total in totals.items()}


def minmax(scores: Mapping[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high <= low:
        return dict.fromkeys(scores, 1.0)
    return {doc: (s - low) / (high - low) for doc, s in scores.items()}


def weighted(vector: Mapping[str, float], keyword: Mapping[str, float], alpha: float
             ) -> dict[str, float]:
    """alpha · minmax(vector) + (1 - alpha) · minmax(keyword); missing from a leg = 0."""
    totals: dict[str, float] = {}
    for leg, weight in ((vector, alpha), (keyword, 1.0 - alpha)):
        for doc, score in minmax(leg).items():
            totals[doc] = totals.get(doc, 0.0) + weight * score
    return totals


# --------------------------------------------------------------------------- store state
async def snapshot(backend: StorageBackendProtocol, namespaces: Iterable[str] = ()) -> Any:
    """Everything observable about the store (and the named namespaces, even if empty):
    used to prove a refused call left it exactly as it was."""
    names = set(await backend.namespaces()) | set(namespaces)
    state: dict[str, Any] = {"namespaces": await backend.namespaces()}
    for name in sorted(names):
        chunks = await backend.get(namespace=name)
        state[name] = (
            await backend.count(namespace=name),
            [
                (c.id, c.text, typed(c.metadata),
                 None if c.embedding is None else [round(float(x), 6) for x in c.embedding])
                for c in chunks
            ],
        )
    return state


def assert_embedding(label: str, got: Sequence[float] | None, sent: Sequence[float] | None
                     ) -> None:
    """Embeddings come back exactly as the float32 rounding of what was sent: a store keeps
    the vector it was given, not its unit direction and not a re-derivation of it."""
    if sent is None:
        assert got is None, f"{label}: expected no embedding, got {got!r}"
        return
    assert got is not None, f"{label}: embedding missing"
    got_array = np.asarray(list(got), dtype=np.float64)
    assert got_array.shape == (len(sent),), f"{label}: embedding shape {got_array.shape}"
    want = f32(sent).astype(np.float64)
    differs = np.flatnonzero(got_array != want)
    assert differs.size == 0, (
        f"{label}: embedding[{differs[0] if differs.size else 0}] is "
        f"{got_array[differs[0]] if differs.size else 0!r}, sent (as float32) "
        f"{want[differs[0]] if differs.size else 0!r}; {differs.size} components differ")


async def refused(
    error: type[BaseException], label: str, call: Callable[[], Awaitable[Any]]
) -> BaseException:
    """Await ``call()`` and require it to raise ``error``; return the exception."""
    try:
        await call()
    except error as exc:
        return exc
    raise AssertionError(f"{label}: accepted, expected {error.__name__}")


class Failures:
    """Collects every mismatch of a many-filter test, so one run shows them all."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.items: list[str] = []

    async def check(self, label: str, run: Callable[[], Awaitable[None]]) -> None:
        try:
            await run()
        except AssertionError as exc:
            self.items.append(f"{label}: {exc}")
        except Exception as exc:
            self.items.append(f"{label}: raised {type(exc).__name__}: {exc}")

    def assert_none(self) -> None:
        shown = "\n\n".join(self.items[:15])
        assert not self.items, f"{len(self.items)} of {self.total} checks failed:\n{shown}"
