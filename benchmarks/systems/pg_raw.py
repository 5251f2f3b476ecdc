"""The raw PostgreSQL paths, hand-written with asyncpg: what a competent engineer writes
without a library, and the reference every PostgreSQL ratio is computed against.

* bulk load: ``COPY`` into a new table whose ``tsvector`` is a stored generated column, then
  ``CREATE INDEX`` HNSW (m 16, ef_construction 64, cosine) and GIN;
* upsert: ``COPY`` into a temporary stage, then ``INSERT ... ON CONFLICT DO UPDATE``;
* vector: ``SET LOCAL hnsw.ef_search`` and ``ORDER BY embedding <=> $1 LIMIT 10``;
* keyword: an OR ``tsquery`` ranked by ``ts_rank_cd`` (not BM25);
* hybrid: one statement, both legs 100 deep (as Agent Brain's default), fused by RRF (k 60).

Every search returns id, text, metadata and score, as the libraries do.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import asyncpg
from pgvector.asyncpg import register_vector

from benchmarks.data import UPSERT_BATCH, Dataset
from benchmarks.systems.base import System

M, EF_CONSTRUCTION = 16, 64
HYBRID_DEPTH = 100
RRF_K = 60
_WORD = re.compile(r"\w+")


def or_query(text: str) -> str:
    """Words joined by ``|`` for ``to_tsquery`` (which stems and drops stop words)."""
    return " | ".join(_WORD.findall(text)) or "''"


class PGRaw(System):
    name = "pg_raw"
    label = "raw asyncpg (COPY + CREATE INDEX, hand-written SQL)"
    family = "postgres"
    kinds = ("vector", "keyword", "hybrid")
    ef_values = (40, 100)

    async def open(self) -> None:
        assert self.dsn is not None
        self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=10,
                                              init=register_vector)

    async def close(self) -> None:
        if getattr(self, "pool", None) is not None:
            await self.pool.close()
            self.pool = None

    @staticmethod
    def _rows(data: Dataset, ids: list[str], texts: list[str], vectors: Any,
              metadata: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(i, t, json.dumps(m), v) for i, t, v, m in zip(ids, texts, vectors, metadata,
                                                                 strict=True)]

    async def load(self, data: Dataset, table: str) -> dict[str, Any]:
        rows = self._rows(data, data.ids, data.texts, data.vectors, data.metadata)
        async with self.pool.acquire() as c:
            start = time.perf_counter()
            await c.execute(
                f'CREATE TABLE {table} (id text COLLATE "C" PRIMARY KEY, text text NOT NULL, '
                "metadata jsonb NOT NULL, embedding vector(384) NOT NULL, tsv tsvector "
                "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED)")
            await c.copy_records_to_table(table, records=rows,
                                          columns=["id", "text", "metadata", "embedding"])
            copied = time.perf_counter()
            await c.execute(f"CREATE INDEX {table}_hnsw ON {table} USING hnsw "
                            f"(embedding vector_cosine_ops) WITH (m = {M}, "
                            f"ef_construction = {EF_CONSTRUCTION})")
            hnsw = time.perf_counter()
            await c.execute(f"CREATE INDEX {table}_tsv ON {table} USING gin (tsv)")
            end = time.perf_counter()
        return {"seconds": end - start, "copy": copied - start, "hnsw": hnsw - copied,
                "gin": end - hnsw}

    async def upsert(self, data: Dataset, table: str, batch: int) -> dict[str, Any]:
        ids, texts, vectors, metadata = data.upserts[batch]
        rows = self._rows(data, ids, texts, vectors, metadata)
        assert len(rows) == UPSERT_BATCH
        async with self.pool.acquire() as c:
            start = time.perf_counter()
            async with c.transaction():
                await c.execute('CREATE TEMP TABLE stage (id text COLLATE "C", text text, '
                                "metadata jsonb, embedding vector(384)) ON COMMIT DROP")
                await c.copy_records_to_table("stage", records=rows, schema_name="pg_temp")
                await c.execute(
                    f"INSERT INTO {table} (id, text, metadata, embedding) "
                    "SELECT id, text, metadata, embedding FROM pg_temp.stage "
                    "ON CONFLICT (id) DO UPDATE SET text = excluded.text, "
                    "metadata = excluded.metadata, embedding = excluded.embedding")
            return {"seconds": time.perf_counter() - start}

    async def drop(self, table: str) -> None:
        async with self.pool.acquire() as c:
            await c.execute(f"DROP TABLE IF EXISTS {table}")

    async def size(self, table: str) -> int | None:
        async with self.pool.acquire() as c:
            value: int = await c.fetchval("SELECT pg_total_relation_size($1::regclass)", table)
            return value

    def query(self, data: Dataset, table: str, kind: str, ef: int | None) -> Any:
        pool = self.pool
        ef_search = str(ef or 100)
        vector_sql = (f"SELECT id, text, metadata, embedding <=> $1 AS distance FROM {table} "
                      "ORDER BY embedding <=> $1 LIMIT 10")
        keyword_sql = (
            f"SELECT id, text, metadata, ts_rank_cd(tsv, q) AS score "
            f"FROM {table}, to_tsquery('english', $1) q WHERE tsv @@ q "
            "ORDER BY score DESC LIMIT 10")
        hybrid_sql = (
            f"WITH v AS (SELECT id, row_number() OVER (ORDER BY d) AS r FROM ("
            f"    SELECT id, embedding <=> $1 AS d FROM {table} "
            f"    ORDER BY embedding <=> $1 LIMIT {HYBRID_DEPTH}) x), "
            f"k AS (SELECT id, row_number() OVER (ORDER BY s DESC) AS r FROM ("
            f"    SELECT id, ts_rank_cd(tsv, q) AS s FROM {table}, to_tsquery('english', $2) q "
            f"    WHERE tsv @@ q ORDER BY s DESC LIMIT {HYBRID_DEPTH}) y), "
            f"f AS (SELECT id, sum(1.0 / ({RRF_K} + r)) AS score FROM "
            "    (SELECT * FROM v UNION ALL SELECT * FROM k) u GROUP BY id "
            "    ORDER BY score DESC, id LIMIT 10) "
            f"SELECT t.id, t.text, t.metadata, f.score FROM f JOIN {table} t USING (id) "
            "ORDER BY f.score DESC, f.id")
        vectors, texts = data.query_vectors, data.query_texts

        async def vector(i: int) -> list[str]:
            async with pool.acquire() as c, c.transaction():
                await c.execute(f"SET LOCAL hnsw.ef_search = {ef_search}")
                rows = await c.fetch(vector_sql, vectors[i])
            return [r[0] for r in rows]

        async def keyword(i: int) -> list[str]:
            async with pool.acquire() as c:
                rows = await c.fetch(keyword_sql, or_query(texts[i]))
            return [r[0] for r in rows]

        async def hybrid(i: int) -> list[str]:
            async with pool.acquire() as c, c.transaction():
                await c.execute(f"SET LOCAL hnsw.ef_search = {ef_search}")
                rows = await c.fetch(hybrid_sql, vectors[i], or_query(texts[i]))
            return [r[0] for r in rows]

        return {"vector": vector, "keyword": keyword, "hybrid": hybrid}[kind]
