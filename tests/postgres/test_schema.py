"""The schema: Alembic revisions (round trip on a store with data), initialization under the
advisory lock, the store record checks, and connection errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from agent_brain import Chunk
from agent_brain.backends.postgres import PGBackend, schema
from agent_brain.backends.postgres.pool import redact
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import BackendUnavailableError, ConfigError, DimensionMismatchError
from tests.postgres.conftest import DIM, make_config

pytestmark = pytest.mark.postgres


def test_head_revision_matches_the_scripts() -> None:
    """schema.HEAD_REVISION is what initialize() compares to; it must be Alembic's head."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(schema.alembic_config())
    assert scripts.get_current_head() == schema.HEAD_REVISION


async def test_round_trip_keeps_data(pg_config: AgentBrainConfig, sql: asyncpg.Connection
                                     ) -> None:
    """upgrade (initialize) → downgrade one revision → upgrade: the data written before is
    still there and searchable, and the metadata index is back on every partition."""
    chunks = [Chunk(f"c{i}", f"apple {i} pear", [1.0 + i] + [0.5] * (DIM - 1), {"i": i})
              for i in range(20)]
    async with PGBackend(pg_config) as backend:
        await backend.upsert(chunks, namespace="one")
        await backend.upsert(chunks[:5], namespace="two")
    assert await schema.current(pg_config) == "0002"
    await schema.downgrade(pg_config, "-1")
    assert await schema.current(pg_config) == "0001"
    assert await sql.fetchval(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = 'agent_brain' "
        "AND indexname LIKE '%metadata%'") == 0
    await schema.upgrade(pg_config)
    assert await schema.current(pg_config) == "0002"
    indexed = await sql.fetchval(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = 'agent_brain' "
        "AND indexdef LIKE '%jsonb_path_ops%'")
    assert indexed == 3  # the parent and the two namespaces' partitions
    async with PGBackend(pg_config) as backend:
        assert await backend.count(namespace="one") == 20
        assert await backend.count(namespace="two", filters={"i": {"$in": [1, 2]}}) == 2
        hits = await backend.keyword_search("apple", namespace="one", top_k=3)
        assert len(hits) == 3
        await backend.upsert([Chunk("new", "apple", [1.0] * DIM, {})], namespace="one")
        assert await backend.count(namespace="one") == 21


async def test_downgrade_to_base_and_back(pg_config: AgentBrainConfig, sql: asyncpg.Connection
                                          ) -> None:
    async with PGBackend(pg_config) as backend:
        await backend.upsert([Chunk("a", "x", None, {})])
    await schema.downgrade(pg_config, "base")
    assert await schema.current(pg_config) is None
    assert await sql.fetchval("SELECT to_regclass('agent_brain.chunks')") is None
    async with PGBackend(pg_config) as backend:  # initialize() upgrades again
        assert await backend.count() == 0
        assert (await backend.info()).embedding_model is None


async def test_concurrent_initialize_on_fresh_database(empty_dsn: str,
                                                       sql_empty: asyncpg.Connection) -> None:
    """Two backends initializing one empty database at once (no extension, no schema):
    the advisory lock makes one migrate and the other find it done; both work."""
    config = make_config(empty_dsn)
    first, second = PGBackend(config), PGBackend(config)
    try:
        await asyncio.gather(first.initialize(), second.initialize())
        assert await sql_empty.fetchval("SELECT count(*) FROM agent_brain.alembic_version") == 1
        assert await sql_empty.fetchval(
            "SELECT version_num FROM agent_brain.alembic_version") == schema.HEAD_REVISION
        await asyncio.gather(
            first.upsert([Chunk("a", "one", None, {})], namespace="x"),
            second.upsert([Chunk("b", "two", None, {})], namespace="y"),
        )
        assert await first.namespaces() == ["x", "y"]
    finally:
        await first.close()
        await second.close()


@pytest.fixture
async def sql_empty(empty_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(empty_dsn)
    yield connection
    await connection.close()


async def test_recorded_configuration_is_checked(pg_config: AgentBrainConfig) -> None:
    async with PGBackend(pg_config) as backend:
        await backend.upsert([Chunk("a", "x", [1.0] * DIM, {})])

    wide = pg_config.model_copy(deep=True)
    wide.embedding.dimension = DIM * 2
    with pytest.raises(DimensionMismatchError) as dim_error:
        await PGBackend(wide).initialize()
    assert f"dimension {DIM}" in str(dim_error.value)
    assert f"dimension {DIM * 2}" in str(dim_error.value)
    assert dim_error.value.hint
    assert f"embedding.dimension: {DIM}" in dim_error.value.hint

    other_model = pg_config.model_copy(deep=True)
    other_model.embedding.model = "other-model"
    with pytest.raises(ConfigError, match=r"'test-model'.*'other-model'"):
        await PGBackend(other_model).initialize()

    simple = pg_config.model_copy(deep=True)
    simple.storage.postgres.text_search_config = "simple"
    with pytest.raises(ConfigError, match=r"text_search_config 'english'.*'simple'") as ts:
        await PGBackend(simple).initialize()
    assert ts.value.hint
    assert "text_search_config: english" in ts.value.hint


async def test_unknown_text_search_config(pg_config: AgentBrainConfig) -> None:
    config = pg_config.model_copy(deep=True)
    config.storage.postgres.text_search_config = "klingon"
    with pytest.raises(ConfigError, match="klingon") as error:
        await PGBackend(config).initialize()
    assert error.value.hint
    assert "english" in error.value.hint


async def test_simple_text_search_config_is_used(pg_dsn: str) -> None:
    config = make_config(pg_dsn)
    config.storage.postgres.text_search_config = "simple"
    async with PGBackend(config) as backend:
        await backend.upsert([Chunk("a", "the running dogs", None, {})])
        assert [h.id for h in await backend.keyword_search("the")] == ["a"]  # no stop words
        assert await backend.keyword_search("run") == []  # no stemming
        assert (await backend.info()).text_search_config == "simple"


async def test_first_write_checks_a_concurrent_record(pg_config: AgentBrainConfig) -> None:
    """Two processes open an empty store with different models; the first write records
    its model and the other's first write is refused."""
    other = pg_config.model_copy(deep=True)
    other.embedding.model = "other-model"
    async with PGBackend(pg_config) as mine, PGBackend(other) as theirs:
        await mine.upsert([Chunk("a", "x", None, {})])
        with pytest.raises(ConfigError, match="other-model"):
            await theirs.upsert([Chunk("b", "y", None, {})])
        assert await mine.count() == 1


async def test_missing_dsn_is_a_config_error() -> None:
    config = AgentBrainConfig()
    config.storage.backend = "postgres"
    with pytest.raises(ConfigError, match=r"storage\.postgres\.dsn") as error:
        await PGBackend(config).initialize()
    assert error.value.hint
    assert "embedded: true" in error.value.hint


async def test_unreachable_server_is_unavailable_with_redacted_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = make_config("postgresql://alice:s3cret@127.0.0.1:9/agent_brain?sslmode=disable")
    monkeypatch.setattr("agent_brain.backends.postgres.pool.CONNECT_TIMEOUT", 3.0)
    with pytest.raises(BackendUnavailableError) as error:
        await PGBackend(config).initialize()
    message = str(error.value)
    assert "s3cret" not in message
    assert "127.0.0.1:9/agent_brain" in message
    assert "alice@" in message
    assert error.value.hint
    assert "docker" in error.value.hint


async def test_missing_database_names_it(pg_server_dsn: str) -> None:
    from agent_brain.backends.postgres.pool import with_database

    config = make_config(with_database(pg_server_dsn, "no_such_database_here"))
    with pytest.raises(BackendUnavailableError, match="no_such_database_here") as error:
        await PGBackend(config).initialize()
    assert error.value.hint
    assert "createdb" in error.value.hint


@pytest.fixture
def pg_server_dsn(pg_server: object) -> str:
    from agent_brain.testing.postgres import ThrowawayPostgres

    assert isinstance(pg_server, ThrowawayPostgres)
    return pg_server.dsn


def test_redact() -> None:
    assert redact("postgresql://u:pw@h:5432/db?sslmode=require") == (
        "postgresql://u@h:5432/db?sslmode=require")
    assert redact("postgresql://h/db?password=pw&sslmode=x") == "postgresql://h/db?sslmode=x"
    assert redact("postgresql://u:@/db?host=/tmp/s") == "postgresql://u@/db?host=/tmp/s"


async def test_password_from_environment(pg_config: AgentBrainConfig,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The password comes from the variable named by password_env (a wrong one is a
    login error only where the server checks passwords; here it must not break trust)."""
    from agent_brain.backends.postgres.pool import target_for

    monkeypatch.setenv("AB_TEST_PW", "from-env")
    settings = pg_config.storage.postgres.model_copy(deep=True)
    settings.dsn = "postgresql://bob@db.example:5432/x"
    settings.password_env = "AB_TEST_PW"
    target = target_for(settings)
    assert target.password == "from-env"
    assert "from-env" not in target.label
    settings.dsn = "postgresql://bob:inline@db.example:5432/x"
    assert target_for(settings).password is None  # the DSN's own password wins
