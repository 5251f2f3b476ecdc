"""BM25 in SQL: scores equal ``rank_bm25.BM25Okapi`` on the lexemes PostgreSQL produced, the
statistics stay exact under upserts and deletes, and no query text can break it."""

from __future__ import annotations

import random

import asyncpg
import pytest
from rank_bm25 import BM25Okapi

from agent_brain import Chunk
from agent_brain.backends.postgres import PGBackend, bm25, namespaces
from tests.postgres.conftest import DIM

pytestmark = pytest.mark.postgres

WORDS = [
    "apple", "river", "stone", "comet", "harbor", "meadow", "lantern", "copper", "violet",
    "thunder", "garden", "falcon", "amber", "willow", "canyon", "ember", "glacier", "orchard",
    "prairie", "quartz",
]


async def pg_terms(sql: asyncpg.Connection, text: str) -> list[str]:
    """The lexemes of ``text`` as PostgreSQL produces them, in position order, repeated."""
    rows = await sql.fetch(
        "SELECT u.lexeme, p FROM unnest(to_tsvector('english', $1)) u, unnest(u.positions) p "
        "ORDER BY p", text)
    return [r[0] for r in rows]


def corpus(seed: int, n: int) -> list[Chunk]:
    rng = random.Random(seed)
    chunks = []
    for i in range(n):
        words = [rng.choice(WORDS[: 4 + i % 16]) for _ in range(rng.randint(1, 25))]
        if i % 3 == 0:
            words += ["the", "running", "apples", "rivers"]  # stop words and stems
        chunks.append(Chunk(f"d{i:03d}", " ".join(words), None, {"i": i, "odd": i % 2 == 1}))
    return chunks


async def raw_scores(backend: PGBackend, query: str, namespace: str,
                     filters: dict[str, object] | None = None) -> tuple[dict[str, float], float]:
    """Raw BM25 of every hit, straight from the SQL, and the normalization."""
    from agent_brain.backends.postgres.filters import Params, compile_filter
    from agent_brain.filters import parse_filter

    async with backend._connection() as connection, connection.transaction():
        ns = await namespaces.find(connection, namespace)
        assert ns is not None
        terms = await bm25.analyze(connection, query, "english")
        plan = await bm25.plan(connection, ns, terms, backend.config.keyword)
        if plan is None:
            return {}, 0.0
        params = Params(9)
        node = parse_filter(filters)
        where = None if node is None else compile_filter(node, params)
        rows = await bm25.search(connection, ns, plan, 10_000, backend.config.keyword, where,
                                 params.values)
    return {r["id"]: float(r["score"]) for r in rows}, plan.max_score


QUERIES = ["apple", "apple river", "river river stone", "the running apples",
           "comet harbor meadow lantern", "quartz", "Apples, RIVERS & stones!", "glacier apple"]


async def test_scores_equal_bm25okapi(backend: PGBackend, sql: asyncpg.Connection) -> None:
    """For a corpus with frequent terms (negative IDF, floored at epsilon × mean IDF), rare
    terms and repeated query terms, every hit's SQL score equals BM25Okapi's to 1e-9, the
    hits are exactly the documents holding a query term, and keyword_score is the score
    over the best attainable one."""
    chunks = corpus(1, 60)
    await backend.upsert(chunks, namespace="kw")
    await backend.upsert(corpus(2, 30), namespace="other")  # must not influence "kw"
    docs = [await pg_terms(sql, c.text) for c in chunks]
    settings = backend.config.keyword
    okapi = BM25Okapi(docs, k1=settings.k1, b=settings.b, epsilon=settings.epsilon)
    frequent = [t for t in okapi.idf if sum(t in d for d in docs) * 2 > len(docs)]
    assert frequent, "the corpus must hold terms with negative IDF (the epsilon floor)"
    for query in QUERIES:
        q = await pg_terms(sql, query)
        expected = okapi.get_scores(q)
        wanted = set(q)
        hits = {c.id: float(s) for c, d, s in zip(chunks, docs, expected, strict=True)
                if wanted & set(d)}
        got, best = await raw_scores(backend, query, "kw")
        assert set(got) == set(hits), query
        for doc_id, score in hits.items():
            assert got[doc_id] == pytest.approx(score, rel=1e-9, abs=1e-9), (query, doc_id)
        okapi_best = sum(q.count(t) * okapi.idf[t] * (settings.k1 + 1)
                         for t in set(q) if okapi.idf.get(t, 0) > 0)
        assert best == pytest.approx(okapi_best, rel=1e-12)
        results = await backend.keyword_search(query, top_k=100, namespace="kw")
        ranked = sorted(hits, key=lambda i: (-hits[i], i))
        assert [r.id for r in results] == ranked, query
        for r in results:
            want = min(1.0, max(0.0, hits[r.id] / okapi_best)) if okapi_best > 0 else 0.0
            assert r.score == pytest.approx(want, abs=1e-12)


async def test_filtered_keyword_search_scores_like_unfiltered(backend: PGBackend) -> None:
    """A filter narrows the hits without changing their scores (statistics stay those of
    the whole namespace) and still returns min(top_k, matching hits)."""
    chunks = corpus(3, 80)
    await backend.upsert(chunks, namespace="kw")
    for query in QUERIES:
        everything, _ = await raw_scores(backend, query, "kw")
        odd, _ = await raw_scores(backend, query, "kw", {"odd": True})
        assert set(odd) == {i for i in everything if int(i[1:]) % 2 == 1}
        assert all(odd[i] == everything[i] for i in odd)
        results = await backend.keyword_search(query, top_k=7, namespace="kw",
                                               filters={"odd": True})
        assert len(results) == min(7, len(odd))


async def test_long_query_uses_plain_sum_with_same_scores(
    backend: PGBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = [f"w{i}x" for i in range(80)]
    chunks = [Chunk(f"d{i}", " ".join(words[i: i + 30]), None, {}) for i in range(50)]
    await backend.upsert(chunks, namespace="long")
    query = " ".join(words)
    pivot, best = await raw_scores(backend, query, "long")
    monkeypatch.setattr(bm25, "PIVOT_TERMS", 4)
    summed, best2 = await raw_scores(backend, query, "long")
    assert set(pivot) == set(summed)
    assert best == best2
    for key in pivot:
        assert summed[key] == pytest.approx(pivot[key], rel=1e-12)
    assert len(await backend.keyword_search(query, top_k=100, namespace="long")) == 50


@pytest.mark.parametrize("query", [
    "", "   ", "the and of", "'", "''", "\"quoted\"", "a & b | !c", "(((", "foo:*", "x:A",
    "\\", "it's", "naïve café 東京 🦙", "\ud800 lone", "!!!&&&|||", "-", "1e-5", "<->",
])
async def test_any_text_is_a_valid_query(backend: PGBackend, query: str) -> None:
    await backend.upsert([Chunk("a", "it's a naïve café in 東京 with foo and x", None, {})])
    results = await backend.keyword_search(query)
    assert isinstance(results, list)


async def test_stop_words_only_and_unknown_terms(backend: PGBackend) -> None:
    await backend.upsert([Chunk("a", "apple pie", None, {})])
    assert await backend.keyword_search("the of and") == []
    assert await backend.keyword_search("zebra") == []
    assert await backend.keyword_search("apple", namespace="empty") == []


async def recount(sql: asyncpg.Connection, namespace: str) -> dict[str, object]:
    """The statistics recomputed from scratch out of the chunks, next to the stored ones."""
    ns = await sql.fetchrow("SELECT * FROM agent_brain.namespaces WHERE name = $1", namespace)
    if ns is None:
        return {"missing": True}
    nid = ns["id"]
    chunks = f"agent_brain.chunks_p{nid}"
    return {
        "counts": (ns["n_docs"], ns["n_vectors"], ns["total_length"]),
        "counts_recount": tuple(await sql.fetchrow(
            f"SELECT count(*), count(embedding), coalesce(sum(doc_length), 0) FROM {chunks}")),
        "lengths_ok": await sql.fetchval(
            f"SELECT bool_and(doc_length = (SELECT coalesce(sum(array_length(positions, 1)), 0)"
            f" FROM unnest(tsv))) FROM {chunks}"),
        "terms": sorted(tuple(r) for r in await sql.fetch(
            f"SELECT term, df FROM agent_brain.terms_p{nid}")),
        "terms_recount": sorted(tuple(r) for r in await sql.fetch(
            f"SELECT u.lexeme, count(*) FROM {chunks}, unnest(tsv) u GROUP BY u.lexeme")),
        "postings": sorted(tuple(r) for r in await sql.fetch(
            f"SELECT term, id, tf, doc_length FROM agent_brain.postings_p{nid}")),
        "postings_recount": sorted(tuple(r) for r in await sql.fetch(
            f"SELECT u.lexeme, c.id, array_length(u.positions, 1), c.doc_length "
            f"FROM {chunks} c, unnest(c.tsv) u")),
        "histogram": sorted(tuple(r) for r in await sql.fetch(
            "SELECT df, n_terms FROM agent_brain.df_histogram WHERE namespace_id = $1", nid)),
        "histogram_recount": sorted(tuple(r) for r in await sql.fetch(
            f"SELECT df, count(*) FROM agent_brain.terms_p{nid} GROUP BY df")),
    }


async def test_statistics_stay_exact_under_upserts_and_deletes(
    backend: PGBackend, sql: asyncpg.Connection
) -> None:
    """A random mix of inserts, replacements (new text, same text, text emptied), deletes
    by id and by filter keeps df, the df histogram, postings, N, total length and vector
    counts equal to a recount after every step; another namespace is never touched."""
    rng = random.Random(7)
    await backend.upsert(corpus(9, 20), namespace="bystander")
    before = await recount(sql, "bystander")
    live: set[str] = set()
    for step in range(25):
        action = rng.random()
        if action < 0.55 or not live:
            batch = []
            for _ in range(rng.randint(1, 12)):
                doc_id = f"d{rng.randint(0, 40):02d}"
                text = rng.choice([
                    " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12))),
                    "the of and",  # only stop words: length 0
                    "apple apple apple river",
                ])
                vector = None if rng.random() < 0.3 else [rng.random() + 0.1 for _ in range(DIM)]
                batch.append(Chunk(doc_id, text, vector, {"g": rng.randint(0, 3)}))
            batch = list({c.id: c for c in batch}.values())
            await backend.upsert(batch, namespace="ns")
            live |= {c.id for c in batch}
        elif action < 0.8:
            gone = rng.sample(sorted(live), k=min(len(live), rng.randint(1, 5)))
            await backend.delete(ids=[*gone, "never-there"], namespace="ns")
            live -= set(gone)
        else:
            group = rng.randint(0, 3)
            matching = {c.id for c in await backend.get(namespace="ns", filters={"g": group})}
            assert await backend.delete(namespace="ns", filters={"g": group}) == len(matching)
            live -= matching
        state = await recount(sql, "ns")
        assert state["counts"] == state["counts_recount"], step
        assert state["lengths_ok"] in (True, None), step
        assert state["terms"] == state["terms_recount"], step
        assert state["postings"] == state["postings_recount"], step
        assert state["histogram"] == state["histogram_recount"], step
        assert await backend.count(namespace="ns") == len(live)
    assert await recount(sql, "bystander") == before


async def test_concurrent_writers_keep_statistics_exact(
    pg_config: object, sql: asyncpg.Connection
) -> None:
    """Several backends (separate pools) writing overlapping ids into one namespace at once
    serialize on the namespace and leave exact statistics, without deadlocks."""
    import asyncio

    from agent_brain.config import AgentBrainConfig

    assert isinstance(pg_config, AgentBrainConfig)
    writers = [PGBackend(pg_config) for _ in range(3)]
    try:
        await asyncio.gather(*(w.initialize() for w in writers))

        async def write(w: PGBackend, seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(6):
                batch = {f"d{rng.randint(0, 30)}": " ".join(rng.choices(WORDS, k=8))
                         for _ in range(10)}
                await w.upsert([Chunk(i, t, None, {}) for i, t in batch.items()], "shared")
                await w.delete(ids=[f"d{rng.randint(0, 30)}"], namespace="shared")
                await w.upsert([Chunk("solo", "apple", None, {})], f"own{seed}")

        await asyncio.gather(*(write(w, i) for i, w in enumerate(writers)))
    finally:
        for w in writers:
            await w.close()
    for name in ("shared", "own0", "own1"):
        state = await recount(sql, name)
        assert state["counts"] == state["counts_recount"]
        assert state["terms"] == state["terms_recount"]
        assert state["postings"] == state["postings_recount"]
        assert state["histogram"] == state["histogram_recount"]


async def test_long_texts_count_in_full(backend: PGBackend, sql: asyncpg.Connection) -> None:
    """tsvector keeps at most 255 positions per lexeme and clamps positions at 16,383; term
    frequencies and lengths are recounted exactly for such texts (documents and queries)."""
    await backend.upsert([
        Chunk("many", "comet " * 400 + "harbor", None, {}),
        Chunk("late", "the " * 16_400 + "glacier glacier", None, {}),
        Chunk("short", "comet harbor glacier", None, {}),
    ], namespace="long")
    nid = await sql.fetchval("SELECT id FROM agent_brain.namespaces WHERE name = 'long'")
    postings = {(r[0], r[1]): (r[2], r[3]) for r in await sql.fetch(
        f"SELECT id, term, tf, doc_length FROM agent_brain.postings_p{nid}")}
    assert postings[("many", "comet")] == (400, 401)
    assert postings[("late", "glacier")] == (2, 2)
    assert postings[("short", "comet")] == (1, 3)
    assert await sql.fetchval(
        f"SELECT total_length FROM agent_brain.namespaces WHERE id = {nid}") == 406
    async with backend._connection() as connection:
        terms = await bm25.analyze(connection, "comet " * 300 + "harbor", "english")
    assert [(t.term, t.qtf) for t in terms] == [("comet", 300), ("harbor", 1)]
    await backend.upsert([Chunk("many", "comet", None, {})], namespace="long")
    assert await sql.fetchval(
        f"SELECT total_length FROM agent_brain.namespaces WHERE id = {nid}") == 6
    state = await recount(sql, "long")
    assert state["terms"] == state["terms_recount"]
    assert state["histogram"] == state["histogram_recount"]
