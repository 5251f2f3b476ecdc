"""Vector search: cosine distance (``<=>``) over one namespace's partition.

* A namespace with few vectors is scanned exactly (a sequential scan of a few thousand
  vectors costs about as much as an index probe, and is exact).
* Otherwise the query runs on the namespace's HNSW (or IVFFlat) index with the query-time
  settings applied by ``set_config(..., is_local => true)`` inside the search's own
  transaction. A plain ``SET`` would leak to the next user of the pooled connection, or be
  wiped by the pool's ``RESET ALL`` before the query runs.
* pgvector >= 0.8 keeps scanning the index until ``top_k`` rows pass the filter
  (``hnsw.iterative_scan``, bounded by ``hnsw.max_scan_tuples``). If the answer still comes
  back short of ``top_k`` (a very selective filter, or an older pgvector), the search runs
  again as an exact scan over the filtered set, so a filtered search always returns
  ``min(top_k, matching chunks with an embedding)`` results.

The index is on ``(embedding::vector(<dim>))`` and approximate queries order by that same
expression; the exact scan orders by ``embedding <=> q``, which no index matches, so the
planner cannot turn it back into an approximate one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import numpy as np

from agent_brain.backends.postgres.local_settings import set_config_args, set_config_sql
from agent_brain.backends.postgres.namespaces import Namespace
from agent_brain.config import IndexSettings

MAX_EF_SEARCH = 1000
"""pgvector's upper bound for ``hnsw.ef_search``."""
TIE_MARGIN = 8
"""Extra rows an approximate query fetches so that equal distances at the top-k cut are
broken by id, as in an exact scan (when the scan may return rows out of order; an ordered
scan fetches one extra row and goes deeper only when that row ties)."""
METADATA = "c.metadata::text"
"""Metadata travels as JSON text and is parsed only for the rows returned: the pool's
``jsonb`` codec would parse every fetched row, tie margin included (18 rows for a top 10:
about a quarter of the client's time per search, measured at 10k chunks)."""


def query_settings(index: IndexSettings, top_k: int, iterative: bool, filtered: bool = False
                   ) -> list[tuple[str, str]]:
    """The ``set_config`` pairs a search applies for its transaction.

    ``ef_search`` is raised to ``top_k`` (up to 1000) when ``top_k`` is larger: an HNSW scan
    keeps ``ef_search`` candidates, and fewer than ``top_k`` of them cannot hold the top k.
    A filtered search doubles it: the filtered neighbours lie deeper in the graph than the
    unfiltered ones (measured at 100k vectors: a 10% filter goes from recall 0.98 to 1.00 for
    ~10% more time; see docs/postgres.md).

    Only the settings of the configured index kind: each one costs the search a little.
    """
    if index.kind == "ivfflat":
        settings = [("ivfflat.probes", str(index.probes))]
        if iterative:
            settings.append(("ivfflat.iterative_scan",
                             "off" if index.iterative_scan == "off" else "relaxed_order"))
        return settings
    ef_search = index.ef_search * (2 if filtered else 1)
    settings = [("hnsw.ef_search", str(min(MAX_EF_SEARCH, max(ef_search, top_k))))]
    if iterative:
        settings += [
            ("hnsw.iterative_scan", index.iterative_scan),
            ("hnsw.max_scan_tuples", str(index.max_scan_tuples)),
        ]
    return settings


async def apply_settings(connection: asyncpg.Connection, settings: Sequence[tuple[str, str]]
                         ) -> None:
    """``SET LOCAL`` each setting (the caller holds a transaction open)."""
    if settings:
        await connection.execute(f"SELECT {set_config_sql(settings, 1)}",
                                 *set_config_args(settings))


async def search(
    connection: asyncpg.Connection,
    namespace: Namespace,
    query: np.ndarray[Any, Any],
    top_k: int,
    where: str,
    params: Sequence[Any],
    *,
    dimension: int,
    index: IndexSettings,
    exact_below: int,
    iterative: bool,
    filtered: bool,
) -> list[asyncpg.Record]:
    """Rows ``(id, text, metadata, distance)`` by distance then id; ``where`` is a predicate
    over alias ``c`` whose parameters start at ``$3``. Runs in the caller's transaction, in
    which the caller has applied :func:`query_settings` (with the namespace lookup, or by
    :func:`apply_settings`)."""
    if namespace.n_vectors == 0:
        return []
    if namespace.n_vectors > exact_below and namespace.vector_index is not None:
        sql = approximate_sql(namespace, dimension, where)
        if returns_in_order(index, iterative):
            # One row beyond top_k shows whether a tie straddles the cut; only then fetch
            # deeper. (Each fetched row costs a heap visit and a detoasted text: the fixed
            # margin of TIE_MARGIN rows cost ~0.15 ms a search at 100k chunks.)
            limit = top_k + 1
            rows = await connection.fetch(sql, query, limit, *params)
            while (len(rows) == limit
                   and rows[top_k - 1]["distance"] == rows[-1]["distance"]):
                limit = top_k + max(TIE_MARGIN, 2 * (limit - top_k))
                rows = await connection.fetch(sql, query, limit, *params)
        else:
            rows = await connection.fetch(sql, query, top_k + TIE_MARGIN, *params)
        ranked = sorted(rows, key=lambda r: (r["distance"], r["id"]))[:top_k]
        wanted = top_k if filtered else min(top_k, namespace.n_vectors)
        if len(ranked) >= wanted:
            return ranked
    return list(await connection.fetch(exact_sql(namespace, where), query, top_k, *params))


def returns_in_order(index: IndexSettings, iterative: bool) -> bool:
    """Whether the index scan yields rows by non-decreasing distance: HNSW unless iterative
    scans run in ``relaxed_order``; IVFFlat unless iterative scans are on (pgvector runs
    them in relaxed order)."""
    if index.kind == "hnsw":
        return not iterative or index.iterative_scan != "relaxed_order"
    return not iterative or index.iterative_scan == "off"


def approximate_sql(namespace: Namespace, dimension: int, where: str) -> str:
    distance = f"(c.embedding::vector({int(dimension)}) <=> $1::vector({int(dimension)}))"
    return (
        f"SELECT c.id, c.text, {METADATA} AS metadata, {distance} AS distance "
        f"FROM {namespace.table('chunks')} c "
        f"WHERE c.namespace_id = {namespace.id} AND c.embedding IS NOT NULL AND {where} "
        f"ORDER BY {distance} LIMIT $2"
    )


def exact_sql(namespace: Namespace, where: str) -> str:
    return (
        f"SELECT c.id, c.text, {METADATA} AS metadata, (c.embedding <=> $1::vector) AS distance "
        f"FROM {namespace.table('chunks')} c "
        f"WHERE c.namespace_id = {namespace.id} AND c.embedding IS NOT NULL AND {where} "
        "ORDER BY distance, c.id LIMIT $2"
    )


def score(distance: float) -> float:
    """``(1 + cosine) / 2`` from the cosine distance ``1 - cosine``, clamped to [0, 1]."""
    return min(1.0, max(0.0, 1.0 - distance / 2.0))
