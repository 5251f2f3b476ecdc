"""``agent-brain doctor``: configuration, embedder, connectivity, recorded model; exit 1
if any check fails."""

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agent_brain.cli import runtime
from agent_brain.config import AgentBrainConfig, environment_variables
from agent_brain.errors import AgentBrainError
from agent_brain.factory import create_backend
from agent_brain.types import StoreInfo


@dataclass(slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str | None = None
    warn: bool = False


def _error(name: str, exc: AgentBrainError) -> Check:
    return Check(name, False, exc.message, exc.hint)


async def _store_checks(config: AgentBrainConfig, model: str, dimension: int) -> list[Check]:
    checks: list[Check] = []
    backend = create_backend(config)
    where = (config.storage.chroma.host or config.storage.chroma.path
             if config.storage.backend == "chroma"
             else ("embedded server in " + config.storage.postgres.data_dir
                   if config.storage.postgres.embedded else "the configured DSN"))
    try:
        started = time.perf_counter()
        try:
            await backend.initialize()
        except AgentBrainError as exc:
            checks.append(_error("open store (connect, recorded model)", exc))
            return checks
        elapsed = (time.perf_counter() - started) * 1000
        checks.append(Check("open store", True,
                            f"{config.storage.backend} at {where} in {elapsed:.0f} ms"))
        info = await backend.info()
        checks.extend(_model_checks(info, model, dimension))
        chunks = sum(n.chunks for n in info.namespaces)
        checks.append(Check("namespaces", True,
                            f"{len(info.namespaces)} namespaces, {chunks} chunks"
                            + (": " + ", ".join(n.name for n in info.namespaces[:8])
                               if info.namespaces else "")))
        checks.extend(backend_checks(info))
    finally:
        await backend.close()
    return checks


def _model_checks(info: StoreInfo, model: str, dimension: int) -> list[Check]:
    if info.embedding_model is None and info.embedding_dimension is None:
        return [Check("recorded model", True,
                      f"nothing recorded yet (empty store); first write records {model} "
                      f"({dimension} dimensions)")]
    out = []
    same_model = info.embedding_model == model
    out.append(Check(
        "recorded model", same_model,
        f"store: {info.embedding_model}; configured: {model}",
        None if same_model else "configure the recorded model, or use a new store",
    ))
    same_dim = info.embedding_dimension == dimension
    out.append(Check(
        "recorded dimension", same_dim,
        f"store: {info.embedding_dimension}; configured: {dimension}",
        None if same_dim else f"set embedding.dimension: {info.embedding_dimension}",
    ))
    return out


def _lookup(settings: Any, *names: str) -> Any:
    """First value found under any of ``names`` (dotted paths allowed)."""
    for name in names:
        node = settings
        for part in name.split("."):
            node = node.get(part) if hasattr(node, "get") else None
            if node is None:
                break
        if node is not None:
            return node
    return None


def backend_checks(info: StoreInfo) -> list[Check]:
    """Backend-specific checks from what ``info().settings`` reports."""
    settings = info.settings
    checks: list[Check] = []
    if info.backend == "postgres":
        version = _lookup(settings, "pgvector_version")
        checks.append(Check(
            "pgvector extension", version is not None,
            f"version {version}" if version is not None else "not installed",
            None if version is not None else "CREATE EXTENSION vector (needs pgvector on the "
            "server), or run `agent-brain db upgrade` as a user allowed to create it",
        ))
        server = _lookup(settings, "server_version")
        if server is not None:
            checks.append(Check("PostgreSQL", True, f"version {server}"))
        revision = _lookup(settings, "schema_revision")
        checks.append(Check(
            "schema revision", revision is not None, str(revision or "none applied"),
            None if revision else "run `agent-brain db upgrade`",
        ))
        indexes = _lookup(settings, "indexes")
        names = sorted(str(k) for k, v in indexes.items() if v) if hasattr(
            indexes, "items") else []
        checks.append(Check("indexes", bool(names), ", ".join(names) or "none found",
                            None if names else "run `agent-brain db upgrade`"))
        configured = _lookup(settings, "vector_index")
        per_namespace = _lookup(settings, "namespace_vector_indexes")
        if hasattr(per_namespace, "items"):
            for name, label in sorted(per_namespace.items()):
                stale = label is not None and configured is not None and label != configured
                checks.append(Check(
                    f"vector index of {name}", True,
                    str(label) if label is not None
                    else "none yet (small namespace: exact search)",
                    f"built as {label}; the configuration now says {configured} (rebuilt "
                    "on reload: reset the namespace and re-import)" if stale else None,
                    warn=stale,
                ))
    elif info.backend == "chroma":
        index = _lookup(settings, "keyword_index")
        if index is not None:
            present = Path(str(index)).exists()
            checks.append(Check("keyword index", present or not info.namespaces,
                                f"{index}" + ("" if present else " (not created yet)")))
        version = _lookup(settings, "chromadb_version")
        if version is not None:
            checks.append(Check("chromadb", True, f"version {version}"))
    return checks


@runtime.handle_errors
def doctor(
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Check configuration, embedder, connectivity and recorded model; exit 1 on failure."""
    checks: list[Check] = []
    path = runtime.state().config_path
    try:
        config = runtime.load_cli_config()
    except AgentBrainError as exc:
        checks.append(_error("configuration", exc))
        config = None
    if config is not None:
        import os

        overrides = sorted(n for n in environment_variables() if n in os.environ)
        checks.append(Check(
            "configuration", True,
            (str(path) if path else "defaults")
            + (f" + {', '.join(overrides)}" if overrides else "")
            + f"; backend {config.storage.backend}",
        ))
        effective = config
        model, dimension = config.embedding.model, config.embedding.dimension
        try:
            resolved = runtime.resolve_embedding(config)
        except AgentBrainError as exc:
            checks.append(_error("embedder", exc))
        else:
            effective = resolved.config
            model, dimension = resolved.embedder.model_id, resolved.embedder.dimension
            checks.append(Check("embedder", True, resolved.label, warn=resolved.fallback))
            checks.append(runtime.run(_probe(resolved.embedder)))
        checks.extend(runtime.run(_store_checks(effective, model, dimension)))
    failed = [c for c in checks if not c.ok]
    if json_output:
        runtime.echo_json({"ok": not failed, "checks": [
            {"check": c.name, "ok": c.ok, "detail": c.detail, "hint": c.hint} for c in checks
        ]})
    else:
        table = Table(title="agent-brain doctor")
        table.add_column("", no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("detail", overflow="fold")
        for c in checks:
            mark = ("[green]✓[/]" if not c.warn else "[yellow]✓[/]") if c.ok else "[red]✗[/]"
            detail = escape(c.detail) + (f"\n[dim]hint: {escape(c.hint)}[/]" if c.hint else "")
            table.add_row(mark, escape(c.name), detail)
        runtime.out().print(table)
        runtime.out().print(
            "[red]some checks failed[/]" if failed else "[green]all checks passed[/]"
        )
    if failed:
        raise typer.Exit(runtime.EXIT_FAILED)


async def _probe(embedder: Any) -> Check:
    started = time.perf_counter()
    try:
        vectors = await embedder.embed(["agent-brain doctor probe"], kind="query")
    except AgentBrainError as exc:
        return _error("embed a probe text", exc)
    size = len(vectors[0]) if vectors else 0
    ok = size == embedder.dimension
    return Check("embed a probe text", ok,
                 f"{size} dimensions in {(time.perf_counter() - started) * 1000:.0f} ms",
                 None if ok else f"set embedding.dimension: {size}")
