"""keyword_search: BM25 (rank_bm25.BM25Okapi over the analyzer's terms) with normalized
scores, queries of any text, chunks without embeddings, and statistics that follow writes."""

from __future__ import annotations

import random

import pytest

from agent_brain import Chunk, StorageBackendProtocol
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import InvalidInputError
from contract_tests import oracle
from contract_tests.data import (
    EMPTY_QUERIES,
    KEYWORD_QUERIES,
    NASTY_QUERIES,
    axis,
    keyword_corpus,
    keyword_text,
)


class TestBM25:
    async def test_ranking_and_scores_equal_oracle(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """For many queries and top_k, results are BM25Okapi's top-k (k1/b/epsilon from the
        config, statistics of this namespace, ties by id); keyword_score = bm25 / Σ(qtf ·
        idf · (k1 + 1)) over terms with idf > 0; score == keyword_score, vector fields None.
        If this fails, compare the backend's IDF (BM25Okapi's, with the epsilon floor for
        terms in more than half the documents), document length (number of terms, not of
        distinct lexemes) and average length with rank_bm25's."""
        chunks = keyword_corpus()
        await backend.upsert(chunks)
        kw = oracle.KeywordOracle(chunks, store_config.keyword)
        for query in KEYWORD_QUERIES:
            for top_k in (1, 5, 200):
                results = await backend.keyword_search(query, top_k=top_k)
                oracle.assert_keyword_results(f"{query!r} top_k={top_k}", results, kw, chunks,
                                              query, top_k)
        everything = await backend.keyword_search("apple river stone cloud forest", 200)
        assert everything
        assert all(r.score < 1.0 for r in everything), (
            "scores are normalized by the best *possible* score, not by the best hit"
        )

    async def test_exact_ties_and_repeated_terms(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """Identical texts tie exactly and come in id order (also at the cut); a repeated
        query term counts as often as it is repeated; a term in most documents keeps a small
        positive weight (BM25Okapi's epsilon floor). If this fails, check tie-breaking by
        id and that query-term frequency is not collapsed to a set."""
        chunks = [
            Chunk("z9", "comet harbor", axis(0)), Chunk("a1", "comet harbor", axis(1)),
            Chunk("m5", "comet harbor", None), Chunk("b2", "comet falcon falcon", axis(2)),
        ] + [Chunk(f"s{i}", f"stone {'moon ' * (i % 3)}", None) for i in range(8)]
        await backend.upsert(chunks)
        kw = oracle.KeywordOracle(chunks, store_config.keyword)
        results = await backend.keyword_search("harbor", top_k=2)
        assert [r.id for r in results] == ["a1", "m5"]
        for query in ("comet harbor", "comet comet falcon", "falcon falcon falcon comet",
                      "stone", "stone moon", "moon moon stone"):
            for top_k in (2, 20):
                results = await backend.keyword_search(query, top_k=top_k)
                oracle.assert_keyword_results(query, results, kw, chunks, query, top_k)
        assert kw.raw("comet comet falcon") != kw.raw("comet falcon")

    async def test_terms_with_zero_idf_still_find(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """A term in exactly half the documents has BM25Okapi IDF 0: the chunks holding it
        score 0 but are still hits (a chunk is a hit if it holds a query term), ranked
        after positive scores, ties by id. If this fails, check the keyword path does not
        drop zero scores (e.g. `WHERE score > 0`) and divides safely when the best possible
        score is 0."""
        chunks = [Chunk("c", "glacier", axis(0)), Chunk("b", "apple", None),
                  Chunk("a", "glacier lamp", axis(1)), Chunk("d", "stone", axis(2))]
        await backend.upsert(chunks)
        kw = oracle.KeywordOracle(chunks, store_config.keyword, zero_idf=True)
        for query in ("glacier", "glacier apple", "apple glacier glacier"):
            results = await backend.keyword_search(query, top_k=10)
            oracle.assert_keyword_results(query, results, kw, chunks, query, 10)
        assert [r.id for r in await backend.keyword_search("glacier")] == ["a", "c"]

    async def test_long_texts_and_many_repeats(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """A term repeated 400 times and a text of 17,000 terms count in full (term
        frequency and document length are the analyzer's counts). If this fails, check the
        backend does not take tf or length from tsvector positions (PostgreSQL keeps at
        most 256 positions per lexeme and none beyond 16,383)."""
        gen = random.Random(3)
        chunks = [
            Chunk("many", "comet " * 400 + "harbor", None),
            Chunk("long", keyword_text(gen, 17_000), None),
            Chunk("late", "apple " * 16_400 + "glacier falcon", None),
            *keyword_corpus(count=20),
        ]
        await backend.upsert(chunks)
        kw = oracle.KeywordOracle(chunks, store_config.keyword)
        queries = ("comet", "harbor comet", "glacier falcon", "apple river stone", "zebra camel")
        failures = oracle.Failures(len(queries))
        for query in queries:
            async def run(query: str = query) -> None:
                results = await backend.keyword_search(query, top_k=30)
                oracle.assert_keyword_results(query, results, kw, chunks, query, 30)

            await failures.check(repr(query), run)
        failures.assert_none()

    async def test_queries_without_terms_return_nothing(
        self, backend: StorageBackendProtocol
    ) -> None:
        """Empty, blank, stop-words-only, punctuation-only and unknown-word queries return
        [] without raising. If this fails, check the query builder for an empty tsquery /
        empty term list (it must short-circuit, not error or match everything)."""
        await backend.upsert(keyword_corpus())
        for query in EMPTY_QUERIES:
            assert await backend.keyword_search(query) == [], repr(query)
            assert await backend.keyword_search(query, filters={"even": True}) == [], repr(query)

    async def test_any_text_is_a_query(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """Quotes, operators of every query syntax, SQL fragments and unicode are plain text:
        no error, and the oracle's answer. If this fails, check the query is analyzed like
        text (plainto_tsquery-style, bound as a parameter), never parsed as query syntax."""
        chunks = keyword_corpus()
        await backend.upsert(chunks)
        kw = oracle.KeywordOracle(chunks, store_config.keyword)
        for query in NASTY_QUERIES:
            results = await backend.keyword_search(query, top_k=10)
            oracle.assert_keyword_results(repr(query), results, kw, chunks, query, 10)

    async def test_chunks_without_embedding_are_found(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """Chunks with embedding=None are indexed for keywords like any other.
        If this fails, check the keyword index is fed from every chunk, not only the ones
        written to the vector engine."""
        chunks = keyword_corpus()
        await backend.upsert(chunks)
        kw = oracle.KeywordOracle(chunks, store_config.keyword)
        bare = [c for c in chunks if c.embedding is None and oracle.terms(c.text)]
        assert bare
        for c in bare[:5]:
            query = c.text
            results = await backend.keyword_search(query, top_k=100)
            assert c.id in [r.id for r in results]
            oracle.assert_keyword_results(query, results, kw, chunks, query, 100)

    async def test_statistics_follow_writes(
        self, backend: StorageBackendProtocol, store_config: AgentBrainConfig
    ) -> None:
        """After more upserts, replacements, deletes and a reset, scores equal BM25 over the
        namespace's current chunks. If this fails, check the incremental index update
        (document frequency and total length on replace/delete) or the SQL statistics."""
        chunks = keyword_corpus(count=61)
        await backend.upsert(chunks[:30])
        await backend.upsert(chunks[30:])
        state = {c.id: c for c in chunks}
        replaced = [Chunk(c.id, "zebra zebra " + c.text[::-1], c.embedding, {"r": True})
                    for c in chunks[::7]]
        await backend.upsert(replaced)
        state.update({c.id: c for c in replaced})
        gone = [c.id for c in chunks[1::5]]
        assert await backend.delete(ids=gone) == len(gone)
        for cid in gone:
            del state[cid]
        current = [state[k] for k in sorted(state)]
        kw = oracle.KeywordOracle(current, store_config.keyword)
        for query in ("zebra", "apple river", "comet harbor falcon", "stone"):
            results = await backend.keyword_search(query, top_k=100)
            oracle.assert_keyword_results(query, results, kw, current, query, 100)
        await backend.reset()
        assert await backend.keyword_search("apple river zebra") == []
        fresh = keyword_corpus(seed=8, count=21)
        await backend.upsert(fresh)
        kw = oracle.KeywordOracle(fresh, store_config.keyword)
        for query in ("apple river", "stone", "zebra"):
            results = await backend.keyword_search(query, top_k=100)
            oracle.assert_keyword_results(query, results, kw, fresh, query, 100)

    async def test_bad_queries(self, backend: StorageBackendProtocol) -> None:
        """A query that is not a string, or a bad top_k, is an InvalidInputError.
        If this fails, check keyword_search validates its arguments."""
        await backend.upsert([Chunk("a", "apple")])
        for query in (None, 1, b"apple", ["apple"]):
            with pytest.raises(InvalidInputError):
                await backend.keyword_search(query)  # type: ignore[arg-type]
        for top_k in (-1, backend.capabilities.max_top_k + 1):
            with pytest.raises(InvalidInputError):
                await backend.keyword_search("apple", top_k=top_k)
