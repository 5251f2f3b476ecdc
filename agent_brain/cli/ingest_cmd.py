"""``agent-brain ingest PATH... [--namespace NS]``."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from agent_brain.cli import runtime
from agent_brain.ingest import IngestReport, discover_files, ingest_files
from agent_brain.validation import check_namespace

NamespaceOption = Annotated[
    str, typer.Option("--namespace", "-n", help="Namespace to write to / read from.")
]


@runtime.handle_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(
        help="Files or folders (.txt, .md, .markdown, .rst; hidden folders are skipped).",
        show_default=False)],
    namespace: NamespaceOption = "default",
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]
    = False,
) -> None:
    """Chunk, embed and store files; unchanged chunks are skipped, vanished ones removed."""
    check_namespace(namespace)
    config = runtime.load_cli_config()
    files, skipped = discover_files(paths)
    console = runtime.err()
    for path in skipped:
        console.print(f"[yellow]skipped[/] {escape(str(path))}: unsupported file type")
    resolved = runtime.resolve_embedding(config)
    runtime.say_embedder(resolved)
    if not files:
        console.print("[yellow]No .txt, .md, .markdown or .rst files found; nothing to do.[/]")

    async def body() -> IngestReport:
        async with runtime.opened(resolved.config) as backend:
            with runtime.progress(console) as bar:
                task = bar.add_task("ingesting", total=len(files))

                def on_file(path: Path, report: IngestReport) -> None:
                    bar.update(task, advance=1,
                               description=f"ingesting ({report.chunks} chunks)")

                return await ingest_files(
                    backend, resolved.embedder, files, namespace=namespace,
                    settings=config.ingest, batch_size=config.embedding.batch_size,
                    on_file=on_file,
                )

    report = runtime.run(body())
    for path_text, reason in report.failed:
        console.print(f"[red]could not read[/] {escape(path_text)}: {escape(reason)}")
    summary = {
        "namespace": namespace,
        "files": report.files,
        "skipped_files": len(skipped),
        "failed_files": len(report.failed),
        "chunks": report.chunks,
        "new": report.new,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "embedder": resolved.embedder.model_id,
        "embedder_fallback": resolved.fallback,
        "elapsed_seconds": round(report.elapsed, 3),
    }
    if json_output:
        runtime.echo_json(summary)
    else:
        show = runtime.out()
        show.print(
            f"[bold]{report.files}[/] files → [bold]{report.chunks}[/] chunks in namespace "
            f"[bold]{escape(namespace)}[/]: {report.new} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.removed} removed"
            + (f"; {len(skipped)} skipped" if skipped else "")
            + (f"; [red]{len(report.failed)} failed[/]" if report.failed else "")
        )
        show.print(f"embedder: {escape(resolved.label)}")
        show.print(f"elapsed: {report.elapsed:.2f} s")
    if report.failed:
        raise typer.Exit(runtime.EXIT_FAILED)
