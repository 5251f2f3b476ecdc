"""Keyword search: BM25 with ``rank_bm25.BM25Okapi``'s semantics, computed in SQL from the
namespace's postings and statistics (not ``ts_rank``).

1. The query is analyzed by PostgreSQL itself, ``to_tsvector(<config>, query)`` with the
   same explicit configuration as the stored text. User text is only ever a bound ``text``
   value: it never becomes ``tsquery`` syntax, so quotes, ``&|!():*``, unicode or an empty
   query cannot fail; a query with no indexable term returns ``[]``.
2. The IDF of each query term comes from its document frequency in the namespace, with
   BM25Okapi's floor (``epsilon`` × the mean IDF of the vocabulary, from ``df_histogram``)
   for terms in more than half of the documents; each term weighs ``qtf × idf``.
3. The postings of the query terms (one index-only scan per term over
   ``(namespace_id, term, id) INCLUDE (tf, doc_length)``) give every candidate and its exact
   term frequencies; the score is summed per candidate in a fixed term order, so equal
   inputs give bit-identical scores and exact ties fall to the id order.
4. With a filter, candidates are further restricted to the chunks that hold a query term
   (GIN index on ``tsv``, with an OR ``tsquery`` composed from quoted lexemes) and match
   the filter.

``keyword_score`` is ``max(0, bm25) / Σ_{terms with idf > 0} qtf · idf · (k1 + 1)``
(the largest score the query could reach), clamped to [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from agent_brain.backends.postgres import stats
from agent_brain.backends.postgres.namespaces import Namespace
from agent_brain.config import KeywordSettings

PIVOT_TERMS = 64
"""Queries with at most this many distinct terms sum per-term columns in query order
(deterministic, bit-exact ties); longer ones use a plain ``sum``."""


@dataclass(frozen=True, slots=True)
class QueryTerm:
    term: str
    qtf: int
    first: int
    """Position of its first occurrence (terms are summed in this order, like BM25Okapi)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The scoring inputs of one query over one namespace."""

    terms: list[str]
    weights: list[float]
    """``qtf × idf`` per term, in query order."""
    average_length: float
    max_score: float


async def analyze(connection: asyncpg.Connection, query: str, ts_config: str
                  ) -> list[QueryTerm]:
    """The query's lexemes as PostgreSQL produces them, with multiplicities (recounted with
    ``ts_debug`` in the rare query long enough to hit the ``tsvector`` position limits)."""
    rows = await connection.fetch(
        "SELECT u.lexeme, coalesce(array_length(u.positions, 1), 1), "
        "coalesce(u.positions[1], 0), coalesce(u.positions[array_length(u.positions, 1)], 0) "
        "FROM unnest(to_tsvector($1::regconfig, $2)) u",
        ts_config, query,
    )
    counts = {r[0]: int(r[1]) for r in rows}
    if any(r[1] >= 255 or r[3] >= 16383 for r in rows):
        exact = await connection.fetch(
            "SELECT d.lexeme, count(*) FROM ts_debug($1::regconfig, $2) t "
            "CROSS JOIN unnest(t.lexemes) d(lexeme) GROUP BY d.lexeme",
            ts_config, query,
        )
        counts.update({r[0]: int(r[1]) for r in exact if r[0] in counts})
    terms = [QueryTerm(r[0], counts[r[0]], int(r[2])) for r in rows]
    return sorted(terms, key=lambda t: (t.first, t.term))


async def plan(
    connection: asyncpg.Connection,
    namespace: Namespace,
    query_terms: Sequence[QueryTerm],
    settings: KeywordSettings,
) -> Plan | None:
    """IDF weights and normalization of ``query_terms`` from the namespace's statistics as
    of this transaction's snapshot (``None``: nothing can match)."""
    row = await connection.fetchrow(
        "SELECT n_docs, total_length FROM agent_brain.namespaces WHERE id = $1", namespace.id
    )
    if row is None or row[0] == 0:
        return None
    n_docs, total_length = int(row[0]), int(row[1])
    df_rows = await connection.fetch(
        f"SELECT term, df FROM {namespace.table('terms')} "
        f"WHERE namespace_id = {namespace.id} AND term = ANY($1::text[])",
        [t.term for t in query_terms],
    )
    df = {r[0]: int(r[1]) for r in df_rows}
    present = [t for t in query_terms if df.get(t.term, 0) > 0]
    if not present or total_length == 0:
        return None
    idf = {t.term: math.log(n_docs - df[t.term] + 0.5) - math.log(df[t.term] + 0.5)
           for t in present}
    if any(value < 0 for value in idf.values()):
        mean = await connection.fetchval(stats.MEAN_IDF_SQL, namespace.id, n_docs)
        floor = settings.epsilon * float(mean)
        idf = {term: (floor if value < 0 else value) for term, value in idf.items()}
    k1 = settings.k1
    return Plan(
        terms=[t.term for t in present],
        weights=[t.qtf * idf[t.term] for t in present],
        average_length=total_length / n_docs,
        max_score=sum(t.qtf * idf[t.term] * (k1 + 1) for t in present if idf[t.term] > 0),
    )


def tsquery(terms: Sequence[str]) -> str:
    """An OR ``tsquery`` of lexemes, each quoted so none is read as operator or prefix."""
    return " | ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms)


WALK_DEPTH = 20
"""A filtered search first checks the filter on the ``WALK_DEPTH × top_k`` best candidates
(at least 200); only when fewer than ``top_k`` of them match does it filter every candidate."""


def search_sql(namespace: Namespace, n_terms: int, mode: str = "plain",
               where: str = "(TRUE)") -> str:
    """Top-k by BM25. Parameters: $1 terms, $2 weights, $3 k1 + 1, $4 k1, $5 b, $6 average
    length, $7 top_k; then, by ``mode``:

    * ``plain`` (no filter): nothing more;
    * ``walk``: $8 how many of the best candidates to check against the filter ``where``
      (cheap when the filter keeps a fair share of the candidates);
    * ``filtered``: $8 the OR ``tsquery`` of the terms; the candidates are the chunks the GIN
      index finds that match ``where`` (for selective filters, where the metadata GIN index
      can intersect with it).

    The filter's own parameters start at $9.
    """
    ns = namespace.id
    postings, chunks = namespace.table("postings"), namespace.table("chunks")

    def part(tf: str, weight: str, length: str) -> str:
        return (f"{weight} * (({tf} * $3::float8) / ({tf} + $4::float8 * "
                f"((1.0::float8 - $5::float8) + ($5::float8 * {length}) / $6::float8)))")

    if n_terms <= PIVOT_TERMS:
        columns = ", ".join(
            f"max(p.tf::float8) FILTER (WHERE p.ord = {i}) AS tf{i}" for i in range(1, n_terms + 1)
        )
        score = " + ".join(
            f"coalesce({part(f'a.tf{i}', f'($2::float8[])[{i}]', 'a.doc_length')}, 0.0)"
            for i in range(1, n_terms + 1)
        )
        aggregated = (f"SELECT p.id, max(p.doc_length) AS doc_length, {columns} "
                      "FROM p GROUP BY p.id")
    else:
        score = "a.partial"
        summand = part("p.tf::float8", "($2::float8[])[p.ord::int]", "p.doc_length")
        aggregated = f"SELECT p.id, sum({summand}) AS partial FROM p GROUP BY p.id"
    head = (
        "WITH w AS (SELECT t.term, t.ord FROM unnest($1::text[]) WITH ORDINALITY AS t(term, ord)), "
        "p AS (SELECT p.id, w.ord, p.tf, p.doc_length FROM w "
        f"  JOIN {postings} p ON p.namespace_id = {ns} AND p.term = w.term), "
        f"a AS ({aggregated}), "
    )
    join = f"JOIN {chunks} c ON c.namespace_id = {ns} AND c.id = top.id"
    if mode == "walk":
        return (
            head + f"top AS (SELECT a.id, {score} AS score FROM a "
            "  ORDER BY score DESC, a.id LIMIT $8) "
            f"SELECT top.id, top.score, c.text, c.metadata FROM top {join} WHERE {where} "
            "ORDER BY top.score DESC, top.id LIMIT $7"
        )
    restrict = ""
    if mode == "filtered":
        restrict = (f" WHERE a.id IN (SELECT c.id FROM {chunks} c WHERE c.namespace_id = {ns} "
                    f"AND c.tsv @@ $8::tsquery AND {where})")
    return (
        head + f"top AS (SELECT a.id, {score} AS score FROM a{restrict} "
        "  ORDER BY score DESC, a.id LIMIT $7) "
        f"SELECT top.id, top.score, c.text, c.metadata FROM top {join} "
        "ORDER BY top.score DESC, top.id"
    )


async def search(
    connection: asyncpg.Connection,
    namespace: Namespace,
    query_plan: Plan,
    top_k: int,
    settings: KeywordSettings,
    where: str | None,
    params: Sequence[Any],
) -> list[asyncpg.Record]:
    """Rows ``(id, score, text, metadata)``, best first; ``where`` is a filter over alias
    ``c`` whose parameters start at ``$9``. A filtered search returns
    ``min(top_k, matching hits)`` rows: the walk over the best candidates is exact when it
    finds ``top_k`` matches (candidates are visited in result order); otherwise every
    candidate is filtered."""
    k1, b = settings.k1, settings.b
    args: list[Any] = [query_plan.terms, query_plan.weights, k1 + 1, k1, b,
                       query_plan.average_length, top_k]
    n_terms = len(query_plan.terms)
    if where is None:
        return list(await connection.fetch(search_sql(namespace, n_terms), *args))
    depth = max(WALK_DEPTH * top_k, 200)
    rows = await connection.fetch(search_sql(namespace, n_terms, "walk", where),
                                  *args, depth, *params)
    if len(rows) >= top_k:
        return list(rows)
    return list(await connection.fetch(
        search_sql(namespace, n_terms, "filtered", where),
        *args, tsquery(query_plan.terms), *params,
    ))


def normalized(raw: float, max_score: float) -> float:
    """``keyword_score``: BM25 as a fraction of the best score the query could reach."""
    if max_score <= 0 or raw <= 0 or math.isnan(raw):
        return 0.0
    return min(1.0, raw / max_score)
