"""HybridSearcher over every backend: the three modes, RRF and weighted fusion against the
oracle's fusion of the oracle's legs, the alpha extremes, evidence fields, filters and
namespaces passing through, and refused arguments."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from agent_brain import Chunk, HybridSearcher, SearchResult, StorageBackendProtocol
from agent_brain.config import AgentBrainConfig, SearchSettings
from agent_brain.errors import FilterError, InvalidInputError
from agent_brain.fusion import Hit, reciprocal_rank_fusion, weighted_fusion
from contract_tests import oracle
from contract_tests.data import axis, hybrid_corpus

QUERIES = ("apple river", "stone cloud forest", "garden window lamp tiger", "piano")
DEPTH = SearchSettings().candidates


def _legs(chunks: list[Chunk], kw: oracle.KeywordOracle, text: str, vector: list[float]
          ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Oracle legs at the searcher's candidate depth: vector scores, normalized keyword
    scores (both restricted to the top DEPTH) and raw BM25 for ranking."""
    vscores = oracle.vector_scores(chunks, vector)
    allowed = {c.id for c in chunks}
    raw = {k: v for k, v in kw.raw(text).items() if k in allowed}
    norm = kw.normalized(text)
    vtop = set(oracle.top(vscores, DEPTH))
    ktop = oracle.top(raw, DEPTH)
    return ({k: v for k, v in vscores.items() if k in vtop},
            {k: norm[k] for k in ktop}, {k: raw[k] for k in ktop})


def _check_evidence(label: str, results: list[SearchResult], vscores: dict[str, float],
                    knorm: dict[str, float], kraw: dict[str, float]) -> None:
    vranks = oracle.ranks(vscores, DEPTH)
    kranks = oracle.ranks(kraw, DEPTH)
    for r in results:
        assert 0.0 <= r.score <= 1.0, f"{label}: {r.id} score {r.score}"
        if r.id in vscores:
            assert r.vector_rank == vranks[r.id], f"{label}: {r.id} vector_rank"
            assert r.vector_score is not None
            assert abs(r.vector_score - vscores[r.id]) <= oracle.VECTOR_TOL, label
        else:
            assert (r.vector_score, r.vector_rank) == (None, None), f"{label}: {r.id}"
        if r.id in knorm:
            assert r.keyword_rank == kranks[r.id], f"{label}: {r.id} keyword_rank"
            assert r.keyword_score is not None
            assert abs(r.keyword_score - knorm[r.id]) <= oracle.KEYWORD_TOL, label
        else:
            assert (r.keyword_score, r.keyword_rank) == (None, None), f"{label}: {r.id}"
    assert [r.rank for r in results] == list(range(1, len(results) + 1)), label


class TestHybrid:
    async def test_single_modes_equal_the_backend_legs(
        self, backend: StorageBackendProtocol
    ) -> None:
        """mode="vector" is vector_search, mode="keyword" is keyword_search, unchanged.
        If this fails, check HybridSearcher passes top_k/namespace/filters through."""
        chunks, (q0, _q1) = hybrid_corpus()
        await backend.upsert(chunks, namespace="hy")
        searcher = HybridSearcher(backend)
        f = {"side": "left"}
        assert await searcher.search("apple", q0, top_k=7, mode="vector", namespace="hy",
                                     filters=f) == await backend.vector_search(
            q0, 7, namespace="hy", filters=f)
        assert await searcher.search("apple river", None, top_k=7, mode="keyword",
                                     namespace="hy", filters=f) == await backend.keyword_search(
            "apple river", 7, namespace="hy", filters=f)

    async def test_fusion_equals_oracle(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """RRF (several k) and weighted fusion (several alpha) of the two legs equal the
        oracle's fusion of the oracle's legs; scores in [0, 1]; each result's evidence
        (vector/keyword score and rank) is that leg's. If this fails, first check the
        vector and keyword tests of this backend; then the fusion inputs (ranks and
        normalized scores taken from the right SearchResult fields)."""
        chunks, queries = hybrid_corpus()
        await backend.upsert(chunks)
        kw = oracle.KeywordOracle(chunks, store_config.keyword)
        searcher = HybridSearcher(backend)
        for n, text in enumerate(QUERIES):
            vector = queries[n % 2]
            vscores, knorm, kraw = _legs(chunks, kw, text, vector)
            self._assert_no_near_ties(vscores, kraw)
            for rrf_k in (60.0, 1.0, 10):
                expected = oracle.rrf([oracle.ranks(vscores, DEPTH), oracle.ranks(kraw, DEPTH)],
                                      float(rrf_k))
                results = await searcher.search(text, vector, top_k=15, mode="hybrid",
                                                fusion="rrf", rrf_k=rrf_k)
                label = f"rrf k={rrf_k} {text!r}"
                oracle.assert_ranked(label, [r.id for r in results], expected, 15, 1e-12)
                _check_evidence(label, results, vscores, knorm, kraw)
                for r in results:
                    assert abs(r.score - expected[r.id]) <= 1e-9, label
            for alpha in (0.5, 0.3, 0.85):
                expected = oracle.weighted(vscores, knorm, alpha)
                results = await searcher.search(text, vector, top_k=15, mode="hybrid",
                                                fusion="weighted", alpha=alpha)
                label = f"weighted alpha={alpha} {text!r}"
                oracle.assert_ranked(label, [r.id for r in results], expected, 15, 1e-4)
                _check_evidence(label, results, vscores, knorm, kraw)
                for r in results:
                    assert abs(r.score - expected[r.id]) <= 1e-4, label

    async def test_alpha_extremes(self, backend: StorageBackendProtocol,
                                  store_config: AgentBrainConfig) -> None:
        """Weighted fusion with alpha=1 ranks like the vector leg, alpha=0 like the keyword
        leg (on the candidate set). If this fails, check alpha weighs the vector side."""
        chunks, queries = hybrid_corpus()
        await backend.upsert(chunks)
        kw = oracle.KeywordOracle(chunks, store_config.keyword)
        searcher = HybridSearcher(backend)
        for n, text in enumerate(QUERIES[:3]):
            vector = queries[n % 2]
            vscores, _knorm, kraw = _legs(chunks, kw, text, vector)
            top_k = 8
            results = await searcher.search(text, vector, top_k=top_k, fusion="weighted",
                                            alpha=1.0)
            assert [r.id for r in results] == oracle.top(vscores, top_k), text
            results = await searcher.search(text, vector, top_k=top_k, fusion="weighted",
                                            alpha=0.0)
            assert len(kraw) > top_k
            assert [r.id for r in results] == oracle.top(kraw, top_k), text

    async def test_filters_and_namespace_pass_through(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """Hybrid search sees only the given namespace and the chunks matching the filter.
        If this fails, check both legs receive namespace and filters."""
        chunks, queries = hybrid_corpus()
        await backend.upsert(chunks, namespace="hy")
        decoys = [Chunk(c.id, "apple river stone " * 3, c.embedding, {"side": "left"})
                  for c in chunks]
        await backend.upsert(decoys)
        filters = {"$and": [{"side": "left"}, {"i": {"$lt": 40}}]}
        allowed = oracle.matching(chunks, filters)
        kw = oracle.KeywordOracle(chunks, store_config.keyword)
        searcher = HybridSearcher(backend)
        text, vector = "apple river stone", queries[0]
        vscores, knorm, kraw = _legs(allowed, kw, text, vector)
        for fusion in ("rrf", "weighted"):
            results = await searcher.search(text, vector, top_k=30, fusion=fusion,
                                            namespace="hy", filters=filters)
            expected = (oracle.rrf([oracle.ranks(vscores, DEPTH), oracle.ranks(kraw, DEPTH)],
                                   store_config.search.rrf_k) if fusion == "rrf"
                        else oracle.weighted(vscores, knorm, store_config.search.alpha))
            oracle.assert_ranked(fusion, [r.id for r in results], expected, 30, 1e-4)
            _check_evidence(fusion, results, vscores, knorm, kraw)
            by_id = {c.id: c for c in allowed}
            for r in results:
                oracle.assert_payload(fusion, r, by_id[r.id])

    async def test_hybrid_equals_fusion_of_the_backend_legs(
        self, backend: StorageBackendProtocol
    ) -> None:
        """Hybrid results are exactly the fusion of vector_search and keyword_search at the
        candidate depth: same ids, order, texts, metadata, scores and evidence, with
        filters Chroma cannot pre-filter exactly, chunks stored without an embedding, and
        filters that leave one leg empty. If this fails on one backend only, its
        ``fused_search`` shortcut (if it has one) disagrees with its own legs."""
        chunks, queries = hybrid_corpus()
        no_vector = [Chunk(f"n{i}", "apple river stone cloud", None, {"i": 100 + i,
                                                                      "side": "left"})
                     for i in range(5)]
        await backend.upsert([*chunks, *no_vector], namespace="hy")
        searcher = HybridSearcher(backend)
        cases: list[tuple[str, Any, float]] = [
            ("apple river", None, 0.3),
            ("stone cloud forest", {"$not": {"side": "left"}}, 0.7),
            ("apple stone", {"side": {"$gt": "m"}}, 0.4),  # a string range: exact in Python
            ("garden window", {"i": {"$exists": True, "$gte": 100}}, 0.5),  # no vector leg
            ("zzz unknown", {"side": "right"}, 0.5),                         # no keyword leg
        ]
        for depth in (5, 40):
            for n, (text, filters, alpha) in enumerate(cases):
                vector = queries[n % 2]
                legs = max(depth, 12)  # the searcher's legs are never shallower than top_k
                v = await backend.vector_search(vector, legs, "hy", filters)
                k = await backend.keyword_search(text, legs, "hy", filters)
                by_id = {r.id: r for r in (*k, *v)}
                vhits = [Hit(r.id, r.rank, r.score) for r in v]
                khits = [Hit(r.id, r.rank, r.score) for r in k]
                for fusion, fused in (("rrf", reciprocal_rank_fusion((vhits, khits), 5.0)),
                                      ("weighted", weighted_fusion(vhits, khits, alpha))):
                    label = f"{fusion} {text!r} {filters} depth {depth}"
                    got = await searcher.search(text, vector, top_k=12, fusion=fusion,
                                                rrf_k=5.0, alpha=alpha, namespace="hy",
                                                filters=filters, candidates=depth)
                    vr = {r.id: r for r in v}
                    kr = {r.id: r for r in k}
                    assert [r.id for r in got] == [f.id for f in fused[:12]], label
                    for r, f in zip(got, fused, strict=False):
                        assert (r.text, r.metadata) == (by_id[r.id].text,
                                                        by_id[r.id].metadata), label
                        assert r.score == min(1.0, max(0.0, f.score)), label
                        assert r.vector_rank == (vr[r.id].rank if r.id in vr else None), label
                        assert r.keyword_rank == (kr[r.id].rank if r.id in kr else None), label
                        assert r.vector_score == (vr[r.id].score if r.id in vr else None)
                        assert r.keyword_score == (kr[r.id].score if r.id in kr else None)

    async def test_bad_arguments(self, backend: StorageBackendProtocol) -> None:
        """A bad mode, fusion, alpha or rrf_k is an InvalidInputError, a malformed filter a
        FilterError, before either leg runs. If this fails, check HybridSearcher._check."""
        await backend.upsert([Chunk("a", "apple", axis(0))])
        searcher = HybridSearcher(backend)
        bad: list[dict[str, Any]] = [
            {"mode": "semantic"}, {"mode": "HYBRID"}, {"fusion": "max"}, {"fusion": "RRF"},
            {"alpha": -0.1}, {"alpha": 1.5}, {"alpha": "0.5"}, {"alpha": float("nan")},
            {"rrf_k": 0}, {"rrf_k": -5}, {"top_k": -1},
        ]
        for kwargs in bad:
            await oracle.refused(InvalidInputError, repr(kwargs),
                                 lambda kwargs=kwargs: searcher.search("apple", axis(0),
                                                                       **kwargs))
        await oracle.refused(FilterError, "filter",
                             lambda: searcher.search("apple", axis(0), filters={"$bad": 1}))

    @staticmethod
    def _assert_no_near_ties(vscores: dict[str, float], kraw: dict[str, float]) -> None:
        """Test-data precondition: leg scores are either exactly tied or clearly apart, so
        the legs' ranks (the input of RRF) are the same on every backend."""
        for scores, tol in ((vscores, 1e-4), (kraw, 1e-9)):
            values = sorted(set(scores.values()))
            gaps = [b - a for a, b in pairwise(values)]
            assert not gaps or min(gaps) > tol, "test data has near-ties"
