"""``agent-brain export``, ``import`` and ``migrate``."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from agent_brain.cli import runtime
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import ConfigError, InvalidInputError
from agent_brain.protocol import StorageBackendProtocol
from agent_brain.transfer import (
    Checkpoint,
    MigrationReport,
    NamespaceCheck,
    export_jsonl,
    import_jsonl,
    migrate,
    scan_jsonl,
    verify,
)
from agent_brain.transfer.jsonl import PAGE_SIZE
from agent_brain.transfer.migration import source_namespaces
from agent_brain.validation import check_namespace

OptionalNamespace = Annotated[str | None, typer.Option(
    "--namespace", "-n", help="Only this namespace (default: all namespaces).")]
PageSize = Annotated[int, typer.Option("--page-size", min=1, max=10_000,
                                       help="Chunks per page read and per write.")]


@runtime.handle_errors
def export(
    out: Annotated[Path, typer.Argument(help="JSON-lines file to write ('-' for stdout).",
                                        show_default=False)],
    namespace: OptionalNamespace = None,
    page_size: PageSize = PAGE_SIZE,
) -> None:
    """Write chunks (with embeddings) as JSON lines {id, text, embedding, metadata, namespace}."""
    if namespace is not None:
        check_namespace(namespace)
    effective = runtime.store_config(runtime.load_cli_config())
    console = runtime.err()

    async def body() -> dict[str, int]:
        async with runtime.opened(effective) as backend:
            names = [namespace] if namespace else await backend.namespaces()
            total = sum([await backend.count(namespace=n) for n in names])
            with runtime.progress(console) as bar:
                task = bar.add_task("exporting", total=total)
                if str(out) == "-":
                    import sys

                    return await export_jsonl(backend, sys.stdout, names, page_size=page_size,
                                              on_chunks=lambda n: bar.advance(task, n))
                temporary = out.with_name(out.name + ".partial")
                with temporary.open("w", encoding="utf-8") as handle:
                    written = await export_jsonl(backend, handle, names, page_size=page_size,
                                                 on_chunks=lambda n: bar.advance(task, n))
                temporary.replace(out)
                return written

    written = runtime.run(body())
    console.print(
        f"exported {sum(written.values())} chunks from {len(written)} namespace(s)"
        + (f" to {escape(str(out))}" if str(out) != "-" else "")
        + ("" if written else " (the store is empty)")
    )


@runtime.handle_errors
def import_(
    source: Annotated[Path, typer.Argument(
        help="JSON-lines file written by `agent-brain export`.", show_default=False,
        exists=True, dir_okay=False, readable=True)],
    namespace: Annotated[str | None, typer.Option(
        "--namespace", "-n",
        help="Import everything into this namespace (default: each line's namespace).")]
    = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000,
                                            help="Chunks per write.")] = PAGE_SIZE,
) -> None:
    """Upsert chunks from a JSON-lines file; the whole file is checked before any write."""
    if namespace is not None:
        check_namespace(namespace)
    effective = runtime.store_config(runtime.load_cli_config())
    console = runtime.err()
    scan = scan_jsonl(source, namespace)
    dimension = effective.embedding.dimension
    if scan.dimension is not None and scan.dimension != dimension:
        raise InvalidInputError(
            f"{source} holds {scan.dimension}-dimensional embeddings; this store is "
            f"configured for {dimension} ({effective.embedding.model}); nothing was imported",
            hint="import into a store configured for that model and dimension "
            "(--config with embedding.model/dimension)",
        )

    async def body() -> dict[str, int]:
        async with runtime.opened(effective) as backend:
            with runtime.progress(console) as bar:
                task = bar.add_task("importing", total=scan.chunks)
                return await import_jsonl(backend, source, namespace=namespace,
                                          batch_size=batch_size,
                                          on_chunks=lambda n: bar.advance(task, n))

    written = runtime.run(body())
    console.print(
        f"imported {sum(written.values())} chunks into "
        + ", ".join(f"{escape(ns)} ({n})" for ns, n in sorted(written.items()))
        if written else "the file holds no chunks; nothing was imported"
    )


def checkpoint_path(target_config: Path, override: Path | None) -> Path:
    """Default: ``<target config>.migrate-checkpoint.json`` beside the target's config
    file (it works for every backend, including servers without a local folder)."""
    if override is not None:
        return override
    return target_config.with_name(target_config.name + ".migrate-checkpoint.json")


def _store_id(info_backend: str, location: str) -> str:
    return f"{info_backend}:{location}"


def _same_store(a: AgentBrainConfig, b: AgentBrainConfig) -> bool:
    if a.storage.backend != b.storage.backend:
        return False
    if a.storage.backend == "chroma":
        sa, sb = a.storage.chroma, b.storage.chroma
        if sa.host or sb.host:
            return (sa.host, sa.port, sa.tenant, sa.database) == (
                sb.host, sb.port, sb.tenant, sb.database)
        return Path(sa.path).expanduser().resolve() == Path(sb.path).expanduser().resolve()
    pa, pb = a.storage.postgres, b.storage.postgres
    if pa.embedded or pb.embedded:
        return pa.embedded == pb.embedded and (
            Path(pa.data_dir).expanduser().resolve() == Path(pb.data_dir).expanduser().resolve())
    return pa.dsn == pb.dsn


@runtime.handle_errors
def migrate_cmd(
    from_config: Annotated[Path, typer.Option(
        "--from", help="Configuration of the source store.", show_default=False,
        exists=True, dir_okay=False)],
    to_config: Annotated[Path, typer.Option(
        "--to", help="Configuration of the target store.", show_default=False,
        exists=True, dir_okay=False)],
    namespace: OptionalNamespace = None,
    page_size: PageSize = PAGE_SIZE,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint",
        help="Checkpoint file (default: <to-config>.migrate-checkpoint.json).")] = None,
) -> None:
    """Copy chunks with embeddings between two stores; resumable; verified at the end."""
    if namespace is not None:
        check_namespace(namespace)
    source_cfg = runtime.load_cli_config(from_config, environ=False)
    target_cfg = runtime.load_cli_config(to_config, environ=False)
    if _same_store(source_cfg, target_cfg):
        raise ConfigError(
            f"{from_config} and {to_config} name the same store",
            hint="point --to at another store (storage.chroma.path, storage.postgres.dsn...)",
        )
    source_eff = runtime.store_config(source_cfg)
    target_eff = runtime.store_config(target_cfg)
    console = runtime.err()
    path = checkpoint_path(to_config, checkpoint)

    async def body() -> tuple[MigrationReport, Checkpoint]:
        async with runtime.opened(source_eff) as source:
            info = await source.info()
            _check_models(info.embedding_model, info.embedding_dimension, target_eff)
            names = await source_namespaces(source, namespace)
            async with runtime.opened(target_eff) as target:
                target_info = await target.info()
                state = Checkpoint.open(path, _store_id(info.backend, info.location),
                                        _store_id(target_info.backend, target_info.location))
                if state.resumed:
                    console.print(f"[cyan]resuming[/] from checkpoint {escape(str(path))}")
                report = await _copy(source, target, names, state, page_size)
                report.checks = await _verify(source, target, names, page_size)
                return report, state

    try:
        report, state = runtime.run(body())
    except KeyboardInterrupt:
        console.print(f"[yellow]Interrupted.[/] Progress is saved in {escape(str(path))}; "
                      "re-run the same command to resume.")
        raise typer.Exit(runtime.EXIT_INTERRUPTED) from None
    state.remove()
    _print_report(report, str(from_config), str(to_config))
    if not report.ok:
        raise typer.Exit(runtime.EXIT_FAILED)


def _check_models(model: str | None, dimension: int | None, target: AgentBrainConfig) -> None:
    if model is None:
        return
    if dimension != target.embedding.dimension or model != target.embedding.model:
        raise ConfigError(
            f"the source store holds embeddings of {model!r} ({dimension} dimensions) but the "
            f"target is configured for {target.embedding.model!r} "
            f"({target.embedding.dimension} dimensions); nothing was copied",
            hint="set embedding.model/dimension (and provider) in the --to configuration to "
            "the source's",
        )


async def _copy(
    source: StorageBackendProtocol, target: StorageBackendProtocol, names: list[str],
    state: Checkpoint, page_size: int,
) -> MigrationReport:
    console = runtime.err()
    totals = {n: await source.count(namespace=n) for n in names}
    with runtime.progress(console) as bar:
        tasks = {n: bar.add_task(f"copying {n}", total=totals[n],
                                 completed=int(state.state(n)["offset"])
                                 if state.resumed else 0)
                 for n in names}
        return await migrate(source, target, names, state, page_size=page_size,
                             on_page=lambda ns, k: bar.advance(tasks[ns], k))


async def _verify(
    source: StorageBackendProtocol, target: StorageBackendProtocol, names: list[str],
    page_size: int,
) -> list[NamespaceCheck]:
    console = runtime.err()
    totals = {n: await source.count(namespace=n) for n in names}
    with runtime.progress(console) as bar:
        tasks = {n: bar.add_task(f"verifying {n}", total=totals[n]) for n in names}
        return await verify(source, target, names, page_size=page_size,
                            on_page=lambda ns, k: bar.advance(tasks[ns], k))


def _print_report(report: MigrationReport, source: str, target: str) -> None:
    table = Table(title=f"migrate {escape(source)} → {escape(target)}")
    table.add_column("namespace")
    table.add_column("copied", justify="right")
    table.add_column("source", justify="right")
    table.add_column("target", justify="right")
    table.add_column("verified")
    for check in report.checks:
        copied = str(report.copied.get(check.namespace, 0))
        if check.namespace in report.resumed_from:
            copied += f" (resumed at {report.resumed_from[check.namespace]})"
        if check.ok:
            verdict = f"[green]✓[/] {check.checked} content hashes match"
        else:
            problems = []
            if check.source_count != check.target_count:
                problems.append("counts differ")
            if check.missing_total:
                problems.append(f"{check.missing_total} missing (e.g. "
                                f"{', '.join(map(escape, check.missing))})")
            if check.different_total:
                problems.append(f"{check.different_total} differ (e.g. "
                                f"{', '.join(map(escape, check.different))})")
            verdict = "[red]✗[/] " + "; ".join(problems)
        table.add_row(escape(check.namespace), copied, str(check.source_count),
                      str(check.target_count), verdict)
    console = runtime.out()
    console.print(table)
    if not report.checks:
        console.print("the source store is empty; nothing to copy")
    console.print("[green]migration verified[/]" if report.ok
                  else "[red]verification failed[/]")
