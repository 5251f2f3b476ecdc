"""The peers, through their own public async APIs, fed the precomputed vectors (no model).

* ``llama-index-vector-stores-postgres`` ``PGVectorStore`` with ``hybrid_search=True`` (its
  ``tsvector`` column and GIN index) and ``hnsw_kwargs`` m 16 / ef_construction 64: the table
  and its indexes are created at first use, then ``async_add`` in batches of 2,048 nodes (as
  ``VectorStoreIndex`` inserts). Its upsert is ``adelete_nodes`` + ``async_add`` (it has no
  upsert). Searches: ``aquery`` in ``DEFAULT`` (vector), ``TEXT_SEARCH`` and ``HYBRID`` modes.
* ``langchain-postgres`` ``PGEngine`` / ``PGVectorStore`` (the v2 API): a table from
  ``ainit_vectorstore_table`` (text ids), ``aadd_embeddings`` (which inserts, and upserts, one
  row per statement), then ``aapply_vector_index(HNSWIndex(m 16, ef_construction 64))``; vector
  search with ``HNSWQueryOptions(ef_search)``.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import asyncpg
from pgvector.asyncpg import register_vector

from benchmarks.data import Dataset
from benchmarks.systems.base import System

BATCH = 2048


def sqlalchemy_url(dsn: str, driver: str) -> str:
    """``postgresql://user:@/db?host=/socket`` as a SQLAlchemy URL for ``driver``."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    user = parts.username or "postgres"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    url = f"postgresql+{driver}://{user}@{host}{port}{parts.path}"
    if "host" in query:
        url += f"?host={query['host']}"
    return url


class LlamaIndexPG(System):
    name = "llamaindex"
    label = "LlamaIndex PGVectorStore (hybrid_search=True)"
    family = "postgres"
    kinds = ("vector", "keyword", "hybrid")
    ef_values = (40, 100)

    async def open(self) -> None:
        assert self.dsn is not None
        self.stores: dict[str, Any] = {}
        self.admin = await asyncpg.connect(self.dsn)

    def _store(self, table: str) -> Any:
        from llama_index.vector_stores.postgres import PGVectorStore

        store = self.stores.get(table)
        if store is None:
            assert self.dsn is not None
            store = PGVectorStore(
                connection_string=sqlalchemy_url(self.dsn, "psycopg2"),
                async_connection_string=sqlalchemy_url(self.dsn, "asyncpg"),
                table_name=table, embed_dim=384, hybrid_search=True,
                text_search_config="english",
                hnsw_kwargs={"hnsw_m": 16, "hnsw_ef_construction": 64, "hnsw_ef_search": 100,
                             "hnsw_dist_method": "vector_cosine_ops"},
            )
            self.stores[table] = store
        return store

    @staticmethod
    def _nodes(ids: list[str], texts: list[str], vectors: Any,
               metadata: list[dict[str, Any]]) -> list[Any]:
        from llama_index.core.schema import TextNode

        return [TextNode(id_=i, text=t, embedding=v.tolist(), metadata=m)
                for i, t, v, m in zip(ids, texts, vectors, metadata, strict=True)]

    async def load(self, data: Dataset, table: str) -> dict[str, Any]:
        nodes = self._nodes(data.ids, data.texts, data.vectors, data.metadata)
        store = self._store(table)
        start = time.perf_counter()
        for s in range(0, len(nodes), BATCH):
            await store.async_add(nodes[s:s + BATCH])
        return {"seconds": time.perf_counter() - start}

    async def upsert(self, data: Dataset, table: str, batch: int) -> dict[str, Any]:
        ids, texts, vectors, metadata = data.upserts[batch]
        nodes = self._nodes(ids, texts, vectors, metadata)
        store = self._store(table)
        start = time.perf_counter()
        await store.adelete_nodes(node_ids=ids)
        await store.async_add(nodes)
        return {"seconds": time.perf_counter() - start}

    async def drop(self, table: str) -> None:
        store = self.stores.pop(table, None)
        if store is not None:
            await store.close()
        await self.admin.execute(f"DROP TABLE IF EXISTS public.data_{table}")

    async def size(self, table: str) -> int | None:
        value: int = await self.admin.fetchval(
            "SELECT pg_total_relation_size($1::regclass)", f"public.data_{table}")
        return value

    async def close(self) -> None:
        for store in getattr(self, "stores", {}).values():
            await store.close()
        if getattr(self, "admin", None) is not None:
            await self.admin.close()
            self.admin = None

    def query(self, data: Dataset, table: str, kind: str, ef: int | None) -> Any:
        from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

        store = self._store(table)
        ef_search = ef or 100
        vectors = [v.tolist() for v in data.query_vectors]
        texts = data.query_texts

        async def vector(i: int) -> list[str]:
            q = VectorStoreQuery(query_embedding=vectors[i], similarity_top_k=10)
            return list((await store.aquery(q, hnsw_ef_search=ef_search)).ids or [])

        async def keyword(i: int) -> list[str]:
            q = VectorStoreQuery(query_str=texts[i], similarity_top_k=10, sparse_top_k=10,
                                 mode=VectorStoreQueryMode.TEXT_SEARCH)
            return list((await store.aquery(q)).ids or [])

        async def hybrid(i: int) -> list[str]:
            q = VectorStoreQuery(query_embedding=vectors[i], query_str=texts[i],
                                 similarity_top_k=10, sparse_top_k=10,
                                 mode=VectorStoreQueryMode.HYBRID)
            return list((await store.aquery(q, hnsw_ef_search=ef_search)).ids or [])[:10]

        return {"vector": vector, "keyword": keyword, "hybrid": hybrid}[kind]


class _NoModel:
    """LangChain wants an ``Embeddings``; every vector here is precomputed."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("the benchmark passes precomputed vectors")

    def embed_query(self, text: str) -> list[float]:
        raise RuntimeError("the benchmark passes precomputed vectors")

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("the benchmark passes precomputed vectors")

    async def aembed_query(self, text: str) -> list[float]:
        raise RuntimeError("the benchmark passes precomputed vectors")


class LangChainPG(System):
    name = "langchain"
    label = "langchain-postgres PGVectorStore (v2)"
    family = "postgres"
    kinds = ("vector",)
    ef_values = (40, 100)
    api_load_max = 20_000
    """Beyond this size the table is filled by COPY (see :meth:`load`)."""

    async def open(self) -> None:
        from langchain_postgres import PGEngine

        assert self.dsn is not None
        self.engine = PGEngine.from_connection_string(url=sqlalchemy_url(self.dsn, "asyncpg"))
        self.stores: dict[tuple[str, int], Any] = {}
        self.admin = await asyncpg.connect(self.dsn)
        await register_vector(self.admin)

    async def _store(self, table: str, ef: int) -> Any:
        from langchain_postgres import PGVectorStore
        from langchain_postgres.v2.indexes import HNSWQueryOptions

        store = self.stores.get((table, ef))
        if store is None:
            store = await PGVectorStore.create(
                self.engine, embedding_service=_NoModel(), table_name=table,
                index_query_options=HNSWQueryOptions(ef_search=ef))
            self.stores[(table, ef)] = store
        return store

    async def load(self, data: Dataset, table: str) -> dict[str, Any]:
        from langchain_postgres import Column
        from langchain_postgres.v2.indexes import DistanceStrategy, HNSWIndex

        vectors = [v.tolist() for v in data.vectors]
        start = time.perf_counter()
        await self.engine.ainit_vectorstore_table(
            table_name=table, vector_size=384,
            id_column=Column("langchain_id", "TEXT", nullable=False))
        store = await self._store(table, 100)
        via_api = data.n <= self.api_load_max
        if via_api:
            for s in range(0, data.n, BATCH):
                await store.aadd_embeddings(data.texts[s:s + BATCH], vectors[s:s + BATCH],
                                            data.metadata[s:s + BATCH], data.ids[s:s + BATCH])
        else:
            # row by row through the API would take most of an hour at this size: fill the
            # same table with COPY (its load is then not measured), as langchain would store it
            import json

            rows = [(i, t, v, json.dumps(m)) for i, t, v, m
                    in zip(data.ids, data.texts, data.vectors, data.metadata, strict=True)]
            await self.admin.copy_records_to_table(
                table, records=rows,
                columns=["langchain_id", "content", "embedding", "langchain_metadata"])
        await store.aapply_vector_index(
            HNSWIndex(m=16, ef_construction=64, distance_strategy=DistanceStrategy.COSINE_DISTANCE))
        return {"seconds": time.perf_counter() - start, "measured": via_api}

    async def upsert(self, data: Dataset, table: str, batch: int) -> dict[str, Any]:
        ids, texts, vectors, metadata = data.upserts[batch]
        lists = [v.tolist() for v in vectors]
        store = await self._store(table, 100)
        start = time.perf_counter()
        await store.aadd_embeddings(texts, lists, metadata, ids)
        return {"seconds": time.perf_counter() - start}

    async def drop(self, table: str) -> None:
        for key in [k for k in self.stores if k[0] == table]:
            self.stores.pop(key)
        await self.admin.execute(f'DROP TABLE IF EXISTS public."{table}"')

    async def size(self, table: str) -> int | None:
        value: int = await self.admin.fetchval(
            "SELECT pg_total_relation_size($1::regclass)", f'public."{table}"')
        return value

    async def close(self) -> None:
        if getattr(self, "engine", None) is not None:
            await self.engine.close()
            self.engine = None
        if getattr(self, "admin", None) is not None:
            await self.admin.close()
            self.admin = None

    def query(self, data: Dataset, table: str, kind: str, ef: int | None) -> Any:
        vectors = [v.tolist() for v in data.query_vectors]
        ef_search = ef or 100

        async def vector(i: int) -> list[str]:
            store = await self._store(table, ef_search)
            docs = await store.asimilarity_search_by_vector(vectors[i], k=10)
            return [d.id for d in docs]

        return vector
