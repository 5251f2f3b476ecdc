"""``agent-brain search QUERY [--mode --fusion --top-k --namespace --filter --json]``."""

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from agent_brain.cli import runtime
from agent_brain.cli.ingest_cmd import NamespaceOption
from agent_brain.errors import FilterError
from agent_brain.filters import parse_filter
from agent_brain.hybrid import Fusion, HybridSearcher, Mode
from agent_brain.types import SearchResult
from agent_brain.validation import check_namespace


class SearchMode(StrEnum):
    vector = "vector"
    keyword = "keyword"
    hybrid = "hybrid"


class FusionChoice(StrEnum):
    rrf = "rrf"
    weighted = "weighted"


def parse_filter_option(raw: str | None) -> dict[str, Any] | None:
    """``--filter`` JSON → a validated filter dict (bad JSON or a malformed filter is a
    usage error, exit 2)."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(
            f"not valid JSON ({exc.msg} at position {exc.pos}); expected e.g. "
            '\'{"source": {"$in": ["a.md", "b.md"]}}\'',
            param_hint="--filter",
        ) from None
    if not isinstance(value, dict):
        raise typer.BadParameter(
            f"must be a JSON object, got {type(value).__name__}", param_hint="--filter"
        )
    try:
        parse_filter(value)
    except FilterError as exc:
        raise typer.BadParameter(exc.message + (f" ({exc.hint})" if exc.hint else ""),
                                 param_hint="--filter") from None
    return value


@runtime.handle_errors
def search(
    query: Annotated[str, typer.Argument(help="What to look for.", show_default=False)],
    mode: Annotated[SearchMode | None, typer.Option(
        "--mode", "-m", help="vector, keyword or hybrid (default: search.mode)")] = None,
    fusion: Annotated[FusionChoice | None, typer.Option(
        "--fusion", help="How hybrid fuses: rrf or weighted (default: search.fusion)")] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, help="Results to return.")]
    = 10,
    namespace: NamespaceOption = "default",
    filter_json: Annotated[str | None, typer.Option(
        "--filter", help='Metadata filter as JSON, e.g. \'{"title": "Guide"}\'.')] = None,
    alpha: Annotated[float | None, typer.Option(
        "--alpha", min=0.0, max=1.0,
        help="Weighted fusion: weight of the vector side (default: search.alpha)")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print results as JSON.")]
    = False,
) -> None:
    """Search a namespace (vector, keyword or hybrid)."""
    filters = parse_filter_option(filter_json)
    check_namespace(namespace)
    config = runtime.load_cli_config()
    chosen_mode: Mode = mode.value if mode else config.search.mode
    chosen_fusion: Fusion = fusion.value if fusion else config.search.fusion
    embeds = chosen_mode != "keyword"
    # keyword search embeds nothing: it needs no model (nor API key) to run
    resolved = runtime.resolve_embedding(config) if embeds else None
    effective = resolved.config if resolved else runtime.store_config(config)
    if resolved:
        runtime.say_embedder(resolved)

    async def body() -> list[SearchResult]:
        async with runtime.opened(effective) as backend:
            searcher = HybridSearcher(backend, effective.search,
                                      embedder=resolved.embedder if resolved else None)
            return await searcher.search(
                query, top_k=top_k, mode=chosen_mode, fusion=chosen_fusion, alpha=alpha,
                namespace=namespace, filters=filters,
            )

    results = runtime.run(body())
    if json_output:
        runtime.echo_json({
            "query": query,
            "mode": chosen_mode,
            "fusion": chosen_fusion if chosen_mode == "hybrid" else None,
            "namespace": namespace,
            "filter": filters,
            "embedder": resolved.embedder.model_id if resolved else None,
            "embedder_fallback": resolved.fallback if resolved else None,
            "results": [result_record(r) for r in results],
        })
        return
    console = runtime.out()
    if not results:
        console.print(f"No results in namespace [bold]{escape(namespace)}[/].")
        return
    title = f"{chosen_mode}" + (f" ({chosen_fusion})" if chosen_mode == "hybrid" else "")
    table = Table(title=f"{escape(query)} — {title}, namespace {escape(namespace)}",
                  show_lines=False, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("evidence", no_wrap=True)
    table.add_column("id", overflow="fold", ratio=1)
    table.add_column("source", overflow="fold", ratio=1)
    table.add_column("snippet", overflow="fold", ratio=3)
    for r in results:
        table.add_row(
            str(r.rank), f"{r.score:.3f}",
            "\n".join(part for part in (
                _evidence("vector", r.vector_score, r.vector_rank),
                _evidence("keyword", r.keyword_score, r.keyword_rank)) if part),
            escape(r.id), escape(_source(r)), escape(snippet(r.text)),
        )
    console.print(table)


def result_record(r: SearchResult) -> dict[str, Any]:
    return {
        "rank": r.rank, "score": r.score, "id": r.id,
        "vector_score": r.vector_score, "vector_rank": r.vector_rank,
        "keyword_score": r.keyword_score, "keyword_rank": r.keyword_rank,
        "metadata": r.metadata, "text": r.text,
    }


def _evidence(leg: str, score: float | None, rank: int | None) -> str:
    """``vector 0.687 #1``; empty when that retriever did not return the chunk."""
    if score is None:
        return ""
    return f"{leg} {score:.3f}" + (f" #{rank}" if rank is not None else "")


def _source(r: SearchResult) -> str:
    source = r.metadata.get("source")
    if not isinstance(source, str):
        return str(r.metadata.get("title", ""))
    try:
        shown = os.path.relpath(source)
        if shown.startswith(".." + os.sep + ".."):
            shown = source
    except ValueError:
        shown = source
    heading = r.metadata.get("heading")
    shown = str(Path(shown))
    return f"{shown} › {heading}" if isinstance(heading, str) else shown


def snippet(text: str, length: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"
