"""``agent-brain stats``: what the store records about itself."""

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agent_brain.cli import runtime
from agent_brain.types import StoreInfo


def info_record(info: StoreInfo) -> dict[str, Any]:
    return {
        "backend": info.backend,
        "location": info.location,
        "embedding_model": info.embedding_model,
        "embedding_dimension": info.embedding_dimension,
        "distance": info.distance,
        "text_search_config": info.text_search_config,
        "namespaces": [
            {"name": n.name, "chunks": n.chunks, "chunks_with_embedding": n.chunks_with_embedding}
            for n in info.namespaces
        ],
        "settings": dict(info.settings),
    }


def flatten(settings: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested settings as ``(dotted.key, value)`` rows."""
    if isinstance(settings, dict) or hasattr(settings, "items"):
        rows: list[tuple[str, str]] = []
        for key, value in settings.items():
            rows.extend(flatten(value, f"{prefix}{key}."))
        return rows
    if isinstance(settings, list | tuple):
        return [(prefix.rstrip("."), ", ".join(str(v) for v in settings) or "—")]
    return [(prefix.rstrip("."), str(settings))]


@runtime.handle_errors
def stats(
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Backend, location, recorded model and dimension, namespaces and index settings."""
    config = runtime.load_cli_config()
    effective = runtime.store_config(config)

    async def body() -> StoreInfo:
        async with runtime.opened(effective) as backend:
            return await backend.info()

    info = runtime.run(body())
    record = info_record(info)
    record["configured_model"] = effective.embedding.model
    if json_output:
        runtime.echo_json(record)
        return
    console = runtime.out()
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column(overflow="fold")
    summary.add_row("backend", escape(info.backend))
    summary.add_row("location", escape(info.location))
    summary.add_row("embedding model",
                    escape(info.embedding_model or "— (nothing written yet)"))
    summary.add_row("embedding dimension", str(info.embedding_dimension or "—"))
    summary.add_row("configured model",
                    f"{escape(effective.embedding.model)} (embedding.provider: "
                    f"{escape(config.embedding.provider)})")
    summary.add_row("distance", escape(info.distance))
    summary.add_row("text search", escape(info.text_search_config))
    console.print(summary)
    spaces = Table(title="namespaces")
    spaces.add_column("namespace")
    spaces.add_column("chunks", justify="right")
    spaces.add_column("with embedding", justify="right")
    for space in info.namespaces:
        spaces.add_row(escape(space.name), str(space.chunks), str(space.chunks_with_embedding))
    if not info.namespaces:
        spaces.add_row("—", "0", "0")
    else:
        spaces.add_row("[bold]total[/]", str(sum(n.chunks for n in info.namespaces)),
                       str(sum(n.chunks_with_embedding for n in info.namespaces)))
    console.print(spaces)
    settings = Table(title="settings")
    settings.add_column("setting")
    settings.add_column("value", overflow="fold")
    for key, value in flatten(info.settings):
        settings.add_row(escape(key), escape(value))
    console.print(settings)
