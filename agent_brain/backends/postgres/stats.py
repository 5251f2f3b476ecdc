"""Exact BM25 statistics per namespace, maintained from the deltas of each write.

* ``terms`` (a partition per namespace) holds each term's document frequency ``df``.
* ``df_histogram`` holds, per namespace, how many terms have each ``df``. BM25Okapi floors
  negative IDFs at ``epsilon`` times the *mean IDF over the whole vocabulary*, which moves
  with every write (``N`` changes every term's IDF); the histogram turns that mean into a
  sum over the distinct ``df`` values (a few thousand rows even for a large namespace),
  computed exactly at query time instead of re-reading the vocabulary.
* ``namespaces`` holds ``N`` (``n_docs``) and the total length.

A write collects ``(term, ±1)`` rows for every document it removes and adds into a
temporary delta table; :func:`apply` folds them into ``terms`` and ``df_histogram`` in term
order (deadlock-free between writers; writers of one namespace are already serialized by
its row lock).
"""

from __future__ import annotations

import asyncpg

from agent_brain.backends.postgres.names import DF_HISTOGRAM
from agent_brain.backends.postgres.namespaces import Namespace

DELTA = "pg_temp.agent_brain_delta"
_CHANGE = "pg_temp.agent_brain_change"


async def create_delta_table(connection: asyncpg.Connection) -> None:
    await connection.execute(
        'CREATE TEMP TABLE agent_brain_delta (term text COLLATE "C" NOT NULL, '
        "d bigint NOT NULL) ON COMMIT DROP"
    )


async def apply(connection: asyncpg.Connection, namespace: Namespace, fresh: bool) -> None:
    """Fold the delta table into the namespace's ``terms`` and ``df_histogram``.

    ``fresh``: the namespace's ``terms`` partition was created by this transaction and is
    empty (and has no unique index yet), so the deltas are simply inserted.
    """
    ns = namespace.id
    terms = namespace.table("terms")
    if fresh:
        await connection.execute(f"DELETE FROM {DF_HISTOGRAM} WHERE namespace_id = {ns}")
        await connection.execute(
            f"INSERT INTO {terms} (namespace_id, term, df) "
            f"SELECT {ns}, term, sum(d) FROM {DELTA} GROUP BY term HAVING sum(d) > 0 "
            "ORDER BY term"
        )
        await connection.execute(
            f"INSERT INTO {DF_HISTOGRAM} (namespace_id, df, n_terms) "
            f"SELECT {ns}, df, count(*) FROM {terms} GROUP BY df ORDER BY df"
        )
        return
    await connection.execute(
        'CREATE TEMP TABLE agent_brain_change (term text COLLATE "C" NOT NULL, '
        "old_df bigint NOT NULL, new_df bigint NOT NULL) ON COMMIT DROP"
    )
    await connection.execute(
        f"INSERT INTO {_CHANGE} (term, old_df, new_df) "
        "SELECT d.term, coalesce(t.df, 0), coalesce(t.df, 0) + d.d "
        f"FROM (SELECT term, sum(d) AS d FROM {DELTA} GROUP BY term HAVING sum(d) <> 0) d "
        f"LEFT JOIN {terms} t ON t.namespace_id = {ns} AND t.term = d.term"
    )
    await connection.execute(f"ANALYZE {_CHANGE}")  # see writes.stage()
    await connection.execute(
        f"INSERT INTO {terms} (namespace_id, term, df) "
        f"SELECT {ns}, term, new_df FROM {_CHANGE} WHERE new_df > 0 ORDER BY term "
        "ON CONFLICT (namespace_id, term) DO UPDATE SET df = excluded.df"
    )
    await connection.execute(
        f"DELETE FROM {terms} t USING {_CHANGE} c "
        f"WHERE c.new_df = 0 AND t.namespace_id = {ns} AND t.term = c.term"
    )
    await connection.execute(
        f"INSERT INTO {DF_HISTOGRAM} AS h (namespace_id, df, n_terms) "
        f"SELECT {ns}, df, sum(n) FROM ("
        f"  SELECT old_df AS df, -1 AS n FROM {_CHANGE} WHERE old_df > 0"
        f"  UNION ALL SELECT new_df, 1 FROM {_CHANGE} WHERE new_df > 0"
        ") x GROUP BY df HAVING sum(n) <> 0 ORDER BY df "
        "ON CONFLICT (namespace_id, df) DO UPDATE SET n_terms = h.n_terms + excluded.n_terms"
    )
    await connection.execute(
        f"DELETE FROM {DF_HISTOGRAM} WHERE namespace_id = {ns} AND n_terms = 0"
    )


MEAN_IDF_SQL = (
    "SELECT sum(n_terms * (ln($2::float8 - df + 0.5) - ln(df + 0.5))) / sum(n_terms) "
    f"FROM {DF_HISTOGRAM} WHERE namespace_id = $1"
)
"""Mean raw IDF over the namespace's vocabulary (``$1`` namespace id, ``$2`` N)."""
