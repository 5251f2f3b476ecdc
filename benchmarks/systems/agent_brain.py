"""Agent Brain's two backends through the public API only: ``create_backend``, ``upsert``,
``vector_search``, ``keyword_search``, and ``HybridSearcher.search`` with its defaults."""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_brain import Chunk, HybridSearcher, create_backend
from agent_brain.config import AgentBrainConfig
from benchmarks.data import Dataset
from benchmarks.systems.base import System

DEFAULT = AgentBrainConfig()


def chunks(ids: list[str], texts: list[str], vectors: Any, metadata: list[dict[str, Any]]
           ) -> list[Chunk]:
    return [Chunk(i, t, v, m) for i, t, v, m in zip(ids, texts, vectors, metadata, strict=True)]


class _Ours(System):
    kinds = ("vector", "keyword", "hybrid")
    backends: dict[int | None, Any]

    def _config(self) -> AgentBrainConfig:
        raise NotImplementedError

    @property
    def main(self) -> Any:
        return self.backends[None]

    async def close(self) -> None:
        for backend in {id(b): b for b in getattr(self, "backends", {}).values()}.values():
            await backend.close()
        self.backends = {}

    async def load(self, data: Dataset, table: str) -> dict[str, Any]:
        batch = chunks(data.ids, data.texts, data.vectors, data.metadata)
        start = time.perf_counter()
        await self.main.upsert(batch, namespace=table)
        return {"seconds": time.perf_counter() - start}

    async def upsert(self, data: Dataset, table: str, batch: int) -> dict[str, Any]:
        ids, texts, vectors, metadata = data.upserts[batch]
        start = time.perf_counter()
        await self.main.upsert(chunks(ids, texts, vectors, metadata), namespace=table)
        return {"seconds": time.perf_counter() - start}

    async def drop(self, table: str) -> None:
        await self.main.reset(namespace=table)

    def query(self, data: Dataset, table: str, kind: str, ef: int | None) -> Any:
        backend = self.backends.get(ef, self.main)
        searcher = HybridSearcher(backend)
        vectors, texts = data.query_vectors, data.query_texts

        async def vector(i: int) -> list[str]:
            return [r.id for r in await backend.vector_search(vectors[i], 10, namespace=table)]

        async def keyword(i: int) -> list[str]:
            return [r.id for r in await backend.keyword_search(texts[i], 10, namespace=table)]

        async def hybrid(i: int) -> list[str]:
            hits = await searcher.search(texts[i], vectors[i], top_k=10, mode="hybrid",
                                         namespace=table)
            return [r.id for r in hits]

        return {"vector": vector, "keyword": keyword, "hybrid": hybrid}[kind]


class PGOurs(_Ours):
    name = "pg_ours"
    label = "Agent Brain PGBackend"
    family = "postgres"
    ef_values = (40, 100)

    def _config(self, ef: int | None = None) -> AgentBrainConfig:
        config = AgentBrainConfig()
        config.storage.backend = "postgres"
        config.storage.postgres.dsn = self.dsn
        config.embedding.model = "benchmark-384"
        if ef is not None:
            config.storage.postgres.index.ef_search = ef
        return config

    async def open(self) -> None:
        # one backend (pool) per ef_search value: the setting is per store configuration
        self.backends = {}
        for ef in self.ef_values:
            backend = create_backend(self._config(ef))
            await backend.initialize()
            self.backends[ef] = backend
        default = DEFAULT.storage.postgres.index.ef_search
        if default in self.backends:
            self.backends[None] = self.backends[default]
        else:
            self.backends[None] = create_backend(self._config())
            await self.backends[None].initialize()

    async def size(self, table: str) -> int | None:
        async with self.main._connection() as c:
            ns = await c.fetchval("SELECT id FROM agent_brain.namespaces WHERE name = $1", table)
            value: int = await c.fetchval(
                "SELECT sum(pg_total_relation_size(format('agent_brain.%s_p%s', t, $1::int)"
                "::regclass)) FROM unnest(ARRAY['chunks', 'postings', 'terms']) t", ns)
            return int(value)


class ChromaOurs(_Ours):
    name = "chroma_ours"
    label = "Agent Brain ChromaBackend"
    family = "chroma"

    @property
    def folder(self) -> Path:
        return self.workdir / "chroma-ours"

    async def open(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        config = AgentBrainConfig()
        config.storage.chroma.path = str(self.folder)
        config.embedding.model = "benchmark-384"
        backend = create_backend(config)
        await backend.initialize()
        self.backends = {None: backend}
        self.upkeep: dict[str, float] = {}
        _timed(backend._analyzer, "terms_many", self.upkeep, "analysis")

    async def upsert(self, data: Dataset, table: str, batch: int) -> dict[str, Any]:
        mirror = self.main._mirrors.get(table)
        if mirror is not None and "apply_upsert" not in vars(mirror):
            _timed(mirror, "apply_upsert", self.upkeep, "index")
        self.upkeep.clear()
        result = await super().upsert(data, table, batch)
        result["bm25_upkeep"] = sum(self.upkeep.values())
        result.update({f"bm25_{k}": v for k, v in self.upkeep.items()})
        return result

    async def size(self, table: str) -> int | None:
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())


def _timed(owner: Any, name: str, into: dict[str, float], label: str) -> None:
    """Wrap ``owner.name`` (on the instance) to add its run time to ``into[label]``."""
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[label] = into.get(label, 0.0) + time.perf_counter() - start

    setattr(owner, name, wrapper)
