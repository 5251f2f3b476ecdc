"""BM25Index: the same scores as rank_bm25.BM25Okapi through any sequence of upserts,
replacements and removals (compaction included), a (-score, id) order that stays exact
across top_k cuts, filtered search that never comes up short, and scores mapped to [0, 1]."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from agent_brain.keyword import BM25Index, saturate

VOCAB = [f"t{i:02d}" for i in range(40)]
WEIGHTS = [1.0 / (i + 1) ** 1.1 for i in range(len(VOCAB))]  # Zipf: some terms in most docs


def random_doc(rng: random.Random) -> list[str]:
    if rng.random() < 0.03:
        return []  # an empty document still counts in N and the average length
    return rng.choices(VOCAB, WEIGHTS, k=rng.randint(1, 20))


def random_query(rng: random.Random) -> list[str]:
    query = rng.choices(VOCAB, k=rng.randint(1, 4))
    if rng.random() < 0.3:
        query.append(query[0])  # a repeated term counts twice
    if rng.random() < 0.2:
        query.append("unknown-term")
    return query


def expected_order(scores: dict[str, float], docs: dict[str, list[str]],
                   query: list[str]) -> list[str]:
    holders = [i for i in docs if set(query) & set(docs[i])]
    return sorted(holders, key=lambda i: (-scores[i], i))


def reference_scores(reference: BM25Okapi, corpus: list[list[str]],
                     query: list[str]) -> list[float]:
    """BM25Okapi.get_scores, term by term: with k1 = 0 (or b = 1 and an empty document) its
    formula is 0/0 = nan for a document *without* the term, whose true contribution is 0."""
    total = np.zeros(len(corpus))
    with np.errstate(invalid="ignore", divide="ignore"):
        for term in query:
            part = reference.get_scores([term])
            lacking = np.array([term not in doc for doc in corpus])
            assert not np.isnan(part[~lacking]).any()
            total += np.where(lacking & np.isnan(part), 0.0, part)
    return [float(x) for x in total]


def check(index: BM25Index, docs: dict[str, list[str]], rng: random.Random,
          queries: int = 12) -> None:
    """Compare the index with BM25Okapi built from scratch on the live documents."""
    ids = sorted(docs)
    reference = BM25Okapi([docs[i] for i in ids], k1=index.k1, b=index.b,
                          epsilon=index.epsilon)
    assert len(index) == len(docs)
    assert sorted(index.ids()) == ids
    assert all(i in index for i in ids)
    assert index.average_length == pytest.approx(reference.avgdl, abs=1e-12)
    df = Counter(t for i in ids for t in set(docs[i]))
    for term in [*VOCAB, "unknown-term"]:
        assert index.document_frequency(term) == df.get(term, 0), term
    for _ in range(queries):
        query = random_query(rng)
        expected = dict(zip(ids, reference_scores(reference, [docs[i] for i in ids], query),
                            strict=True))
        got = index.scores_for(query)
        assert got.keys() == expected.keys()
        for doc_id in ids:
            assert math.isclose(got[doc_id], expected[doc_id], rel_tol=1e-9, abs_tol=1e-9), (
                query, doc_id, got[doc_id], expected[doc_id])
        order = expected_order(got, docs, query)
        hits = index.search(query, top_k=len(docs) + 1)
        assert [h.id for h in hits] == order, query
        assert all(h.score == got[h.id] for h in hits)
        for top_k in (1, 2, 3, 7, 20):
            assert [h.id for h in index.search(query, top_k)] == order[:top_k], (query, top_k)


PARAMS = [(1.5, 0.75, 0.25), (1.2, 0.75, 0.25), (0.9, 0.4, 0.5), (2.0, 1.0, 0.0),
          (1.2, 0.0, 0.25), (0.0, 0.75, 1.0)]


@pytest.mark.parametrize(("k1", "b", "epsilon"), PARAMS)
def test_equals_bm25okapi_through_writes(k1: float, b: float, epsilon: float) -> None:
    rng = random.Random(hash((k1, b, epsilon)) & 0xFFFF)
    index = BM25Index(k1=k1, b=b, epsilon=epsilon)
    docs: dict[str, list[str]] = {}
    next_id = 0

    def fresh(n: int) -> list[tuple[str, list[str]]]:
        nonlocal next_id
        out = []
        for _ in range(n):
            out.append((f"d{rng.randrange(10**6):06d}-{next_id}", random_doc(rng)))
            next_id += 1
        return out

    for _ in range(4):  # inserts, in batches
        batch = fresh(40)
        index.upsert(batch)
        docs.update(batch)
    check(index, docs, rng)

    dead_seen = 0
    for _round in range(3):
        # replace some, add some, and repeat one id inside the batch (last one wins)
        batch = [(i, random_doc(rng)) for i in rng.sample(sorted(docs), 30)] + fresh(10)
        batch.append((batch[0][0], random_doc(rng)))
        index.upsert(batch)
        docs.update(batch)
        check(index, docs, rng)

        gone = rng.sample(sorted(docs), 35)
        assert index.remove([*gone, "never-there", gone[0]]) == len(gone)
        for doc_id in gone:
            del docs[doc_id]
        dead_seen = max(dead_seen, index._dead_postings)
        check(index, docs, rng)
    assert dead_seen > 0  # dead postings were skipped at query time before any compaction


def test_compaction_keeps_scores_exact() -> None:
    """Enough removals trigger _compact (dead postings > max(1024, live)); the renumbered
    index must score exactly as before and keep accepting writes. If this fails, check
    BM25Index._compact's remapping of postings, lengths and _doc_terms."""
    rng = random.Random(11)
    index = BM25Index(k1=1.2, b=0.75)
    docs = {f"c{i:04d}": rng.choices(VOCAB, k=rng.randint(8, 30)) for i in range(700)}
    index.upsert(docs.items())
    check(index, docs, rng, queries=5)

    compactions = 0
    order = sorted(docs)
    rng.shuffle(order)
    for start in range(0, 560, 40):
        before = index._dead_postings
        gone = order[start:start + 40]
        index.remove(gone)
        for doc_id in gone:
            del docs[doc_id]
        if index._dead_postings < before:
            compactions += 1
            assert index._dead_postings == 0
            assert len(index._ids) == len(index)  # slots renumbered densely
            assert all(index._ids[slot] == doc_id for doc_id, slot in index._slot_of.items())
            check(index, docs, rng, queries=8)
    assert compactions >= 1

    more = {f"n{i:03d}": rng.choices(VOCAB, k=rng.randint(1, 12)) for i in range(120)}
    index.upsert(more.items())
    docs.update(more)
    replaced = {doc_id: rng.choices(VOCAB, k=5) for doc_id in rng.sample(sorted(docs), 50)}
    index.upsert(replaced.items())
    docs.update(replaced)
    check(index, docs, rng)
    gone = rng.sample(sorted(docs), len(docs) - 3)
    index.remove(gone)
    for doc_id in gone:
        del docs[doc_id]
    check(index, docs, rng)


def test_ties_are_broken_by_id_across_the_top_k_cut() -> None:
    """Equal scores order by id, whatever the insertion order, even when the tie group
    straddles top_k."""
    index = BM25Index()
    tied = [f"tie{i}" for i in (7, 2, 9, 0, 5, 3, 8, 1, 6, 4)]
    index.upsert([("best", ["apple", "apple", "apple"])])
    index.upsert((doc_id, ["apple", "pear"]) for doc_id in tied)
    index.upsert((f"z{i:02d}", [f"filler{i}", "plum"]) for i in range(30))  # apple: idf > 0
    full = [h.id for h in index.search(["apple"], top_k=100)]
    assert full == ["best", *sorted(tied)]
    for top_k in range(1, 12):
        assert [h.id for h in index.search(["apple"], top_k)] == full[:top_k]
    scores = {h.score for h in index.search(["apple"], 100) if h.id != "best"}
    assert len(scores) == 1


def test_accept_filter_never_comes_up_short() -> None:
    rng = random.Random(3)
    index = BM25Index()
    docs = {f"d{i:03d}": random_doc(rng) for i in range(200)}
    index.upsert(docs.items())

    def accept(doc_id: str) -> bool:
        return int(doc_id[1:]) % 7 == 0

    for _ in range(30):
        query = random_query(rng)
        full = [h.id for h in index.search(query, top_k=len(docs))]
        accepted = [i for i in full if accept(i)]
        for top_k in (1, 3, 10, 50):
            got = [h.id for h in index.search(query, top_k, accept=accept)]
            assert got == accepted[:top_k]
            assert len(got) == min(top_k, len(accepted))
    assert index.search(["t00"], 5, accept=lambda _: False) == []


def test_max_score_bounds_every_score_and_saturate_is_in_unit_interval() -> None:
    rng = random.Random(5)
    for k1, b, epsilon in PARAMS:
        index = BM25Index(k1, b, epsilon)
        docs = {f"d{i:03d}": random_doc(rng) for i in range(120)}
        index.upsert(docs.items())
        reference = BM25Okapi(list(docs.values()), k1=k1, b=b, epsilon=epsilon)
        for _ in range(20):
            query = random_query(rng)
            best = index.max_score(query)
            expected = sum(qtf * reference.idf[t] * (k1 + 1)
                           for t, qtf in Counter(query).items()
                           if reference.idf.get(t, 0) > 0)
            assert best == pytest.approx(expected, rel=1e-9, abs=1e-12)
            for hit in index.search(query, top_k=len(docs)):
                assert hit.score <= best + 1e-12
                assert 0.0 <= saturate(hit.score, best) <= 1.0


def test_saturation_approaches_one_for_a_saturated_document() -> None:
    """With b = 0, tf → ∞ reaches the query's max score, so saturate → 1."""
    index = BM25Index(k1=1.2, b=0.0)
    index.upsert([("long", ["rare"] * 10_000)])
    index.upsert((f"f{i}", ["filler", "words"]) for i in range(20))
    (hit,) = index.search(["rare"], top_k=5)
    assert 0.999 < saturate(hit.score, index.max_score(["rare"])) <= 1.0


@pytest.mark.parametrize(("score", "best", "expected"), [
    (0.5, 2.0, 0.25), (2.0, 2.0, 1.0), (3.0, 2.0, 1.0), (0.0, 2.0, 0.0), (-1.0, 2.0, 0.0),
    (float("nan"), 2.0, 0.0), (1.0, 0.0, 0.0), (1.0, -1.0, 0.0),
])
def test_saturate(score: float, best: float, expected: float) -> None:
    assert saturate(score, best) == expected


def test_empty_index() -> None:
    index = BM25Index()
    assert len(index) == 0
    assert index.ids() == []
    assert index.average_length == 0.0
    assert index.search(["anything"], top_k=10) == []
    assert index.search([], top_k=10) == []
    assert index.scores_for(["anything"]) == {}
    assert index.max_score(["anything"]) == 0.0
    assert index.remove(["nope"]) == 0


def test_queries_without_known_terms_find_nothing() -> None:
    index = BM25Index()
    index.upsert([("a", ["apple", "pear"]), ("b", ["pear"])])
    assert index.search(["zebra"], 10) == []
    assert index.search([], 10) == []
    assert index.max_score(["zebra"]) == 0.0
    assert index.scores_for(["zebra"]) == {"a": 0.0, "b": 0.0}
    with_unknown = index.search(["zebra", "apple"], 10)
    assert with_unknown == index.search(["apple"], 10)
    index.remove(["a"])
    assert index.search(["apple"], 10) == []  # df fell to 0: no candidates
    assert index.document_frequency("apple") == 0


def test_duplicate_query_terms_count_twice() -> None:
    docs = {"a": ["apple", "pear", "plum"], "b": ["pear"], "c": ["plum", "fig"],
            "d": ["kiwi"], "e": ["lime"]}
    index = BM25Index()
    index.upsert(docs.items())
    corpus = list(docs.values())
    reference = BM25Okapi(corpus)
    once, twice = index.scores_for(["apple"]), index.scores_for(["apple", "apple"])
    assert once["a"] > 0
    for doc_id in docs:
        assert twice[doc_id] == pytest.approx(2 * once[doc_id], rel=1e-12)
    expected = dict(zip(docs, reference.get_scores(["apple", "pear", "apple"]).tolist(),
                        strict=True))
    got = index.scores_for(["apple", "pear", "apple"])
    for doc_id in docs:
        assert got[doc_id] == pytest.approx(expected[doc_id], rel=1e-9, abs=1e-12)
    assert index.max_score(["apple", "apple"]) == pytest.approx(2 * index.max_score(["apple"]))


def test_clear_forgets_documents_but_keeps_parameters() -> None:
    index = BM25Index(k1=0.7, b=0.3, epsilon=0.1)
    index.upsert([("a", ["x"]), ("b", ["y"])])
    index.clear()
    assert len(index) == 0
    assert index.search(["x"], 5) == []
    assert (index.k1, index.b, index.epsilon) == (0.7, 0.3, 0.1)
    index.upsert([("c", ["x"])])
    assert [h.id for h in index.search(["x"], 5)] == ["c"]
