"""load_config: defaults < YAML < environment, and every mistake is a ConfigError that names
the key (and the allowed keys or values). The shipped config/agent-brain.yaml is checked in
tests/cli/test_config_files.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_brain.config import AgentBrainConfig, environment_variables, load_config
from agent_brain.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "agent-brain.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AGENT_BRAIN_* variable of the developer's shell leaks into these tests."""
    for name in environment_variables():
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_the_documented_ones() -> None:
    config = load_config()
    assert config == AgentBrainConfig()
    assert config.storage.backend == "chroma"
    assert config.storage.chroma.path == "./agent-brain-data/chroma"
    assert config.storage.chroma.host is None
    pg = config.storage.postgres
    assert pg.dsn is None
    assert pg.password_env == "PGPASSWORD"
    assert pg.embedded is False
    assert (pg.pool.min_size, pg.pool.max_size) == (1, 10)
    assert (pg.index.kind, pg.index.m, pg.index.ef_construction) == ("hnsw", 16, 64)
    assert pg.text_search_config == "english"
    assert (config.embedding.model, config.embedding.dimension) == ("all-MiniLM-L6-v2", 384)
    assert config.embedding.distance == "cosine"


def test_yaml_overrides_defaults_and_keeps_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path, """
storage:
  backend: postgres
  postgres:
    dsn: postgresql://app@db.example:5432/rag?sslmode=require
    pool: {max_size: 4}
embedding: {dimension: 8}
""")
    config = load_config(path, environ=False)
    assert config.storage.backend == "postgres"
    assert config.storage.postgres.dsn == "postgresql://app@db.example:5432/rag?sslmode=require"
    assert config.storage.postgres.pool.max_size == 4
    assert config.storage.postgres.pool.min_size == 1  # sibling default survives
    assert config.embedding.dimension == 8
    assert config.embedding.model == "all-MiniLM-L6-v2"
    assert config.storage.chroma == AgentBrainConfig().storage.chroma


def test_empty_yaml_is_the_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "# nothing\n"), environ=False) == AgentBrainConfig()


YAML = """
storage:
  backend: chroma
  chroma: {path: /from/yaml}
  postgres:
    dsn: postgresql://yaml@host/db
    pool: {min_size: 2}
embedding: {dimension: 16}
"""


@pytest.mark.parametrize(("variable", "value", "read", "expected"), [
    ("AGENT_BRAIN_EMBEDDING_DIMENSION", "32", lambda c: c.embedding.dimension, 32),
    ("AGENT_BRAIN_STORAGE_POSTGRES_POOL_MIN_SIZE", "5",
     lambda c: c.storage.postgres.pool.min_size, 5),
    ("AGENT_BRAIN_POSTGRES_POOL_MIN_SIZE", "6", lambda c: c.storage.postgres.pool.min_size, 6),
    ("AGENT_BRAIN_POSTGRES_DSN", "postgresql://env@host/db",
     lambda c: c.storage.postgres.dsn, "postgresql://env@host/db"),
    ("AGENT_BRAIN_STORAGE_POSTGRES_DSN", "postgresql://env2@host/db",
     lambda c: c.storage.postgres.dsn, "postgresql://env2@host/db"),
    ("AGENT_BRAIN_CHROMA_PATH", "/from/env", lambda c: c.storage.chroma.path, "/from/env"),
    ("AGENT_BRAIN_STORAGE_CHROMA_PATH", "/env/2", lambda c: c.storage.chroma.path, "/env/2"),
    ("AGENT_BRAIN_STORAGE_BACKEND", "postgres", lambda c: c.storage.backend, "postgres"),
    ("AGENT_BRAIN_STORAGE_CHROMA_SSL", "true", lambda c: c.storage.chroma.ssl, True),
    ("AGENT_BRAIN_KEYWORD_K1", "0.9", lambda c: c.keyword.k1, 0.9),
    ("AGENT_BRAIN_CHROMA_HNSW_EF_SEARCH", "77", lambda c: c.storage.chroma.hnsw.ef_search, 77),
])
def test_environment_overrides_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    variable: str, value: str, read: object, expected: object,
) -> None:
    path = write(tmp_path, YAML)
    before = load_config(path)
    assert callable(read)
    assert read(before) != expected  # the YAML (or default) value differs
    monkeypatch.setenv(variable, value)
    assert read(load_config(path)) == expected
    assert read(load_config(path, environ={variable: value})) == expected  # a mapping works
    assert read(load_config(path, environ=False)) == read(before)  # environ=False ignores it


def test_environment_overrides_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_BRAIN_EMBEDDING_DIMENSION", "12")
    assert load_config().embedding.dimension == 12
    assert load_config(environ=False).embedding.dimension == 384


def test_environment_leaves_untouched_keys_from_yaml(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, YAML), environ={"AGENT_BRAIN_EMBEDDING_DIMENSION": "8"})
    assert config.storage.chroma.path == "/from/yaml"
    assert config.storage.postgres.pool.min_size == 2


def test_every_leaf_has_an_environment_variable() -> None:
    names = environment_variables()
    assert names["AGENT_BRAIN_EMBEDDING_DIMENSION"] == ("embedding", "dimension")
    assert names["AGENT_BRAIN_STORAGE_POSTGRES_POOL_MIN_SIZE"] == (
        "storage", "postgres", "pool", "min_size")
    assert names["AGENT_BRAIN_POSTGRES_DSN"] == ("storage", "postgres", "dsn")
    assert names["AGENT_BRAIN_CHROMA_PATH"] == ("storage", "chroma", "path")
    assert names["AGENT_BRAIN_STORAGE_BACKEND"] == ("storage", "backend")
    leaves = set(names.values())
    dumped = AgentBrainConfig().model_dump()

    def paths(node: dict[str, object], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
        out: set[tuple[str, ...]] = set()
        for key, value in node.items():
            out |= paths(value, (*prefix, key)) if isinstance(value, dict) else {(*prefix, key)}
        return out

    assert leaves == paths(dumped)


def test_password_in_environment_dsn_is_accepted() -> None:
    """Secrets belong in the environment: a full DSN there may hold the password."""
    dsn = "postgresql://app:s3cret@host/db"
    assert load_config(environ={"AGENT_BRAIN_POSTGRES_DSN": dsn}).storage.postgres.dsn == dsn


# ---------------------------------------------------------------- refusals


def refused(path: Path | None = None, environ: object = False) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ)  # type: ignore[arg-type]
    return str(info.value)


@pytest.mark.parametrize(("text", "key", "allowed"), [
    ("storage: {bakend: chroma}\n", "storage.bakend", "backend, chroma, postgres"),
    ("storage: {chroma: {pth: /x}}\n", "storage.chroma.pth",
     "database, hnsw, host, index_path, path, port, ssl, tenant"),
    ("storage: {postgres: {pool: {min: 1}}}\n", "storage.postgres.pool.min",
     "command_timeout, max_size, min_size"),
    ("embeding: {dimension: 3}\n", "embeding", "embedding, ingest, keyword, search, storage"),
])
def test_unknown_key_names_it_and_the_allowed_keys(
    tmp_path: Path, text: str, key: str, allowed: str
) -> None:
    message = refused(write(tmp_path, text))
    assert f"{key}: unknown key" in message
    assert f"allowed keys here: {allowed}" in message


@pytest.mark.parametrize(("text", "key"), [
    ("embedding: {dimension: big}\n", "embedding.dimension"),
    ("embedding: {dimension: 0}\n", "embedding.dimension"),
    ("storage: {postgres: {pool: {max_size: [1]}}}\n", "storage.postgres.pool.max_size"),
    ("storage: {chroma: {port: 70000}}\n", "storage.chroma.port"),
    ("storage: {postgres: {index: {kind: flat}}}\n", "storage.postgres.index.kind"),
    ("keyword: {b: 1.5}\n", "keyword.b"),
    ("storage: 5\n", "storage"),
])
def test_wrong_type_or_value_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    assert f"\n  {key}: " in refused(write(tmp_path, text))


def test_wrong_type_from_the_environment_names_key_and_source() -> None:
    message = refused(environ={"AGENT_BRAIN_STORAGE_POSTGRES_POOL_MIN_SIZE": "many"})
    assert "storage.postgres.pool.min_size" in message
    assert "'many'" in message
    assert "AGENT_BRAIN_* environment variables" in message


@pytest.mark.parametrize("source", ["yaml", "env"])
def test_unknown_backend_names_the_allowed_values(tmp_path: Path, source: str) -> None:
    if source == "yaml":
        message = refused(write(tmp_path, "storage: {backend: mysql}\n"))
    else:
        message = refused(environ={"AGENT_BRAIN_STORAGE_BACKEND": "mysql"})
    assert "storage.backend" in message
    assert "'mysql'" in message
    assert "allowed: chroma, postgres" in message


@pytest.mark.parametrize("dsn", [
    "postgresql://app:s3cret@localhost:5432/agent_brain",
    "postgres://app:p%40ss@db/x?sslmode=require",
])
def test_password_in_yaml_dsn_is_refused(tmp_path: Path, dsn: str) -> None:
    path = write(tmp_path, f"storage:\n  postgres:\n    dsn: {dsn}\n")
    message = refused(path)
    assert "storage.postgres.dsn" in message
    assert "password" in message
    assert "s3cret" not in message
    assert "p%40ss" not in message


def test_password_as_dsn_query_parameter_in_yaml_is_refused(tmp_path: Path) -> None:
    """libpq (and asyncpg) read ``?password=`` from a URI: that is a secret in the YAML too
    (agent_brain/backends/postgres/pool.py already redacts it from labels)."""
    path = write(tmp_path, "storage:\n  postgres:\n"
                           "    dsn: postgresql://app@localhost/db?sslmode=require&password=s3cret\n")
    assert "password" in refused(path)


def test_dsn_without_password_is_accepted(tmp_path: Path) -> None:
    dsn = "postgresql://app@localhost:5432/agent_brain?sslmode=prefer"
    path = write(tmp_path, f"storage:\n  postgres:\n    dsn: {dsn}\n")
    assert load_config(path, environ=False).storage.postgres.dsn == dsn


def test_missing_file(tmp_path: Path) -> None:
    message = refused(tmp_path / "nope.yaml")
    assert "nope.yaml" in message
    assert "does not exist" in message


def test_invalid_yaml(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "storage: {backend: chroma\nembedding: [\n"))
    assert "not valid YAML" in message


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("just text\n", "str"),
                                            ("42\n", "int")])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, kind: str) -> None:
    message = refused(write(tmp_path, text))
    assert "mapping at the top level" in message
    assert kind in message


def test_assignment_is_validated() -> None:
    """The models validate on assignment, so code that edits a config cannot smuggle in a
    wrong value either."""
    config = load_config(environ=False)
    with pytest.raises(ValueError, match="backend"):
        config.storage.backend = "mysql"
