"""All-or-nothing writes at any size: a failure late in a batch larger than any engine batch
(5,461) — in validation, or inside PostgreSQL after most of the work — leaves nothing
behind; concurrent first writes and resets do not deadlock."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import asyncpg
import pytest

from agent_brain import Chunk
from agent_brain.backends.postgres import PGBackend
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import InvalidInputError
from tests.postgres.conftest import DIM
from tests.postgres.test_bm25 import recount

pytestmark = pytest.mark.postgres

LARGE = 6_000


def batch(word: str, count: int = LARGE) -> list[Chunk]:
    return [Chunk(f"b{i:05d}", f"{word} number {i}", [1.0 + (i % 7)] + [0.5] * (DIM - 1),
                  {"i": i}) for i in range(count)]


async def state(backend: PGBackend, sql: asyncpg.Connection) -> dict[str, Any]:
    chunks = {}
    for ns in await backend.namespaces():
        chunks[ns] = [(c.id, c.text, c.metadata) for c in await backend.get(namespace=ns)]
    return {
        "chunks": chunks,
        "namespaces": [tuple(r) for r in await sql.fetch(
            "SELECT name, n_docs, n_vectors, total_length FROM agent_brain.namespaces "
            "ORDER BY name")],
        "partitions": sorted(r[0] for r in await sql.fetch(
            "SELECT relname FROM pg_class WHERE relname ~ '^(chunks|postings|terms)_p[0-9]+$'")),
        "histogram": await sql.fetchval("SELECT count(*) FROM agent_brain.df_histogram"),
        "record": tuple(await sql.fetchrow(
            "SELECT embedding_model, embedding_dimension FROM agent_brain.store")),
    }


async def test_late_validation_failure_writes_nothing(backend: PGBackend,
                                                      sql: asyncpg.Connection) -> None:
    before = await state(backend, sql)
    bad = batch("meadow")
    bad[-1] = Chunk(bad[-1].id, "x", [math.nan] * DIM, {})
    with pytest.raises(InvalidInputError, match=rf"chunks\[{LARGE - 1}\]"):
        await backend.upsert(bad, namespace="big")
    assert await state(backend, sql) == before


async def test_failure_inside_postgres_at_the_end_of_a_first_write(
    backend: PGBackend, sql: asyncpg.Connection
) -> None:
    """A namespace's first write (standalone tables, COPY, indexes, ATTACH) fails at its
    very last statement: no namespace, partition, statistic or store record remains."""
    before = await state(backend, sql)
    assert before["record"] == (None, None)
    await sql.execute("""
        CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure'; END $$;
        CREATE TRIGGER refuse BEFORE UPDATE ON agent_brain.namespaces FOR EACH ROW
        WHEN (NEW.n_docs > 5000) EXECUTE FUNCTION pg_temp.refuse();
    """)
    with pytest.raises(asyncpg.RaiseError, match="injected failure"):
        await backend.upsert(batch("meadow"), namespace="big")
    assert await state(backend, sql) == before
    await sql.execute("DROP TRIGGER refuse ON agent_brain.namespaces")
    assert await backend.upsert(batch("meadow"), namespace="big") == LARGE
    assert await backend.count(namespace="big") == LARGE


async def test_failure_inside_postgres_while_replacing(
    backend: PGBackend, sql: asyncpg.Connection
) -> None:
    """An upsert into a populated namespace that replaces old versions, fails inside
    PostgreSQL after the old versions were removed and the new rows inserted: the old
    versions, their postings and the statistics are all back."""
    await backend.upsert(batch("apple", 50), namespace="ns")
    await backend.upsert([Chunk("keep", "other text", None, {"k": 1})], namespace="ns")
    before = await state(backend, sql)
    stats_before = await recount(sql, "ns")
    await sql.execute("""
        CREATE FUNCTION pg_temp.poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'poisoned posting'; END $$;
        CREATE TRIGGER poison BEFORE INSERT ON agent_brain.postings FOR EACH ROW
        WHEN (NEW.term = 'poison') EXECUTE FUNCTION pg_temp.poison();
    """)
    replacing = batch("river")
    replacing[-1] = Chunk(replacing[-1].id, "poison", None, {})
    with pytest.raises(asyncpg.RaiseError, match="poisoned posting"):
        await backend.upsert(replacing, namespace="ns")
    assert await state(backend, sql) == before
    assert await recount(sql, "ns") == stats_before
    assert [h.id for h in await backend.keyword_search("river", namespace="ns")] == []


async def test_large_valid_batch_is_written_replaced_and_deleted_whole(
    backend: PGBackend, sql: asyncpg.Connection
) -> None:
    assert await backend.upsert(batch("meadow"), namespace="big") == LARGE
    assert await backend.upsert(batch("harbor"), namespace="big") == LARGE
    assert await backend.count(namespace="big") == LARGE
    assert await backend.keyword_search("meadow", namespace="big") == []
    assert len(await backend.keyword_search("harbor", namespace="big", top_k=20)) == 20
    deleted = await backend.delete(namespace="big", filters={"i": {"$lt": 5_500}})
    assert deleted == 5_500
    state_now = await recount(sql, "big")
    assert state_now["terms"] == state_now["terms_recount"]
    assert state_now["counts"] == state_now["counts_recount"]


async def test_concurrent_first_writes_and_resets(pg_config: AgentBrainConfig,
                                                  sql: asyncpg.Connection) -> None:
    """First writes into several new namespaces (each ATTACHes partitions), resets (each
    DROPs them) and writes to existing namespaces, all at once from separate pools: no
    deadlock, and every namespace ends consistent."""
    stores = [PGBackend(pg_config) for _ in range(4)]
    await asyncio.gather(*(s.initialize() for s in stores))
    try:
        await stores[0].upsert(batch("seed", 30), namespace="existing")

        async def work(store: PGBackend, n: int) -> None:
            for round_ in range(3):
                await store.upsert(batch(f"w{n}", 200), namespace=f"new{n}-{round_}")
                await store.upsert(batch(f"e{n}", 20), namespace="existing")
                if round_:
                    await store.reset(f"new{n}-{round_ - 1}")

        await asyncio.wait_for(asyncio.gather(*(work(s, n) for n, s in enumerate(stores))),
                               timeout=120)
        names = await stores[0].namespaces()
        assert names == sorted(["existing", *(f"new{n}-2" for n in range(4))])
        for name in names:
            now = await recount(sql, name)
            assert now["counts"] == now["counts_recount"], name
            assert now["terms"] == now["terms_recount"], name
    finally:
        for s in stores:
            await s.close()
