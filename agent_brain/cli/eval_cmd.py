"""``agent-brain eval DATASET_DIR``: retrieval quality and latency of every search mode."""

import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import TaskID
from rich.table import Table

from agent_brain.cli import runtime
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import AgentBrainError, InvalidInputError
from agent_brain.eval import BeirDataset, load_beir
from agent_brain.eval.runner import (
    EVAL_MODES,
    EmbedFn,
    ModeResult,
    load_corpus,
    query_vectors,
    run_mode,
)
from agent_brain.hybrid import HybridSearcher
from agent_brain.validation import check_namespace


def default_namespace(dataset_dir: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", dataset_dir.resolve().name).strip("-") or "dataset"
    return f"eval-{name}"[:63]


def parse_modes(raw: list[str] | None) -> list[str]:
    if not raw:
        return list(EVAL_MODES)
    modes: list[str] = []
    for item in raw:
        for mode in (m.strip() for m in item.split(",")):
            if not mode:
                continue
            if mode not in EVAL_MODES:
                raise typer.BadParameter(
                    f"unknown mode {mode!r}; choose from {', '.join(EVAL_MODES)}",
                    param_hint="--modes",
                )
            if mode not in modes:
                modes.append(mode)
    return modes


@runtime.handle_errors
def eval_(
    dataset_dir: Annotated[Path, typer.Argument(
        help="BEIR folder: corpus.jsonl[.gz], queries*.jsonl, qrels*.tsv, optional *.npy "
        "embeddings.", show_default=False, exists=True, file_okay=False)],
    split: Annotated[str, typer.Option("--split", help="Which queries/qrels: test or train.")]
    = "test",
    namespace: Annotated[str | None, typer.Option(
        "--namespace", "-n", help="Namespace holding the corpus (default: eval-<folder>).")]
    = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print results as JSON.")]
    = False,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Results per query.")] = 100,
    modes: Annotated[list[str] | None, typer.Option(
        "--modes", help="Modes to run (repeat or comma-separate): "
        + ", ".join(EVAL_MODES) + " (default: all).")] = None,
    reload: Annotated[bool, typer.Option(
        "--reload", help="Empty the namespace and load the corpus again.")] = False,
) -> None:
    """Load a BEIR dataset and report nDCG@10, Recall@100, MRR@10 and latency per mode."""
    chosen = parse_modes(modes)
    if split not in ("test", "train", "dev"):
        raise typer.BadParameter(f"{split!r} is not test, train or dev", param_hint="--split")
    ns = namespace if namespace is not None else default_namespace(dataset_dir)
    check_namespace(ns)
    config = runtime.load_cli_config()
    console = runtime.err()
    started = time.perf_counter()
    dataset = load_beir(dataset_dir, split)
    console.print(
        f"{escape(dataset.name)} ({split}): {len(dataset.corpus)} documents, "
        f"{len(dataset.queries)} judged queries; loaded in {time.perf_counter() - started:.1f} s"
    )
    effective, embed, embedder_label, embedder_id = _embedding_plan(config, dataset)
    console.print(f"[cyan]embedder:[/] {escape(embedder_label)}")

    async def body() -> tuple[str, float, float, list[ModeResult]]:
        async with runtime.opened(effective) as backend:
            with runtime.progress(console) as bar:
                task = bar.add_task(f"loading {dataset.name} into {ns}",
                                    total=len(dataset.corpus))
                load_started = time.perf_counter()
                status = await load_corpus(backend, dataset, ns, embed, reload=reload,
                                           on_progress=lambda n: bar.advance(task, n))
                if status == "reused":
                    bar.update(task, completed=len(dataset.corpus),
                               description=f"{ns} already holds the corpus")
                load_seconds = time.perf_counter() - load_started
            needs_vectors = any(m != "keyword" for m in chosen)
            vectors, embed_seconds = (await query_vectors(dataset, embed)
                                      if needs_vectors else ({}, 0.0))
            searcher = HybridSearcher(backend, effective.search)
            results = []
            with runtime.progress(console) as bar:
                for mode in chosen:
                    task = bar.add_task(mode, total=len(dataset.queries))

                    def advance(task: TaskID = task) -> None:
                        bar.advance(task)

                    results.append(await run_mode(
                        searcher, dataset, mode, namespace=ns, top_k=top_k, vectors=vectors,
                        on_query=advance,
                    ))
            return status, load_seconds, embed_seconds, results

    status, load_seconds, embed_seconds, results = runtime.run(body())
    report = _report(dataset, ns, effective.storage.backend, embedder_id, embedder_label,
                     status, load_seconds, embed_seconds, top_k, results)
    if json_output:
        runtime.echo_json(report)
        return
    table = Table(title=f"{escape(dataset.name)} ({split}) — {len(dataset.queries)} queries, "
                  f"{effective.storage.backend}, namespace {escape(ns)}")
    table.add_column("mode")
    for name in ("nDCG@10", "Recall@100", "MRR@10", "p50 ms", "p95 ms"):
        table.add_column(name, justify="right")
    for r in results:
        table.add_row(r.mode, f"{r.ndcg_at_10:.4f}", f"{r.recall_at_100:.4f}",
                      f"{r.mrr_at_10:.4f}", f"{r.latency_p50_ms:.1f}",
                      f"{r.latency_p95_ms:.1f}")
    show = runtime.out()
    show.print(table)
    show.print(f"corpus {status} in {load_seconds:.1f} s; embedder: {escape(embedder_label)}")


def _embedding_plan(
    config: AgentBrainConfig, dataset: BeirDataset
) -> tuple[AgentBrainConfig, EmbedFn | None, str, str]:
    """The store configuration, the embed function, and how to describe them.

    Precomputed embeddings are used when the configuration names their model, i.e. its
    embedder would record ``embedding.model`` (provider ``sentence-transformers``,
    ``openai`` or ``ollama``; ``auto`` when sentence-transformers loads): a store records
    one model, and one built from precomputed vectors must be searchable with that model.
    Otherwise (the hashing embedder) they are ignored, with a note, and the corpus is
    embedded by the configured embedder.
    """
    note = ""
    if dataset.corpus_embeddings is not None:
        effective = runtime.store_config(config)
        model = config.embedding.model
        if effective.embedding.model == model:
            return _precomputed(config, effective, dataset)
        note = (f"; ignoring {dataset.files['corpus_embeddings']}: those are {model!r} "
                f"vectors but this configuration embeds with {effective.embedding.model} "
                "(set embedding.provider: sentence-transformers to use them)")
    dataset.corpus_embeddings = None
    dataset.query_embeddings.clear()
    resolved = runtime.resolve_embedding(config)
    embedder = resolved.embedder
    return resolved.config, embedder.embed, resolved.label + note, embedder.model_id


def _precomputed(
    config: AgentBrainConfig, effective: AgentBrainConfig, dataset: BeirDataset
) -> tuple[AgentBrainConfig, EmbedFn | None, str, str]:
    assert dataset.corpus_embeddings is not None
    model = config.embedding.model
    dimension = int(dataset.corpus_embeddings.shape[1])
    if dimension != config.embedding.dimension:
        raise InvalidInputError(
            f"{dataset.files['corpus_embeddings']} holds {dimension}-dimensional vectors but "
            f"embedding.dimension is {config.embedding.dimension}",
            hint=f"set embedding.dimension: {dimension} for {model!r}",
        )
    missing = [q for q in dataset.queries if q not in dataset.query_embeddings]
    embed: EmbedFn | None = None
    if missing:
        try:
            resolved = runtime.resolve_embedding(config)
        except AgentBrainError as exc:
            raise InvalidInputError(
                f"{len(missing)} queries have no precomputed embedding and the configured "
                f"embedder cannot load: {exc.message}",
                hint=exc.hint,
            ) from None
        if resolved.embedder.model_id != model:
            raise InvalidInputError(
                f"{len(missing)} queries have no precomputed embedding and the configured "
                f"embedder is {resolved.embedder.model_id!r}, not {model!r}",
                hint="add the query embeddings file for this split, or configure the "
                "embedder of that model",
            )
        embed = resolved.embedder.embed
    label = (f"{model} via precomputed {dataset.files['corpus_embeddings']}"
             + (f" + {dataset.files['query_embeddings']}"
                if "query_embeddings" in dataset.files else "")
             + f" ({dimension} dimensions; "
             + ("nothing embedded at run time)" if embed is None
                else f"{len(missing)} queries embedded at run time)"))
    return effective, embed, label, model


def _report(
    dataset: BeirDataset, namespace: str, backend: str, embedder_id: str, embedder_label: str,
    status: str, load_seconds: float, embed_seconds: float, top_k: int,
    results: list[ModeResult],
) -> dict[str, Any]:
    return {
        "dataset": dataset.name,
        "path": str(dataset.root),
        "split": dataset.split,
        "backend": backend,
        "namespace": namespace,
        "documents": len(dataset.corpus),
        "queries": len(dataset.queries),
        "top_k": top_k,
        "embedder": embedder_id,
        "embedder_description": embedder_label,
        "corpus": {"status": status, "seconds": round(load_seconds, 3)},
        "query_embedding_seconds": round(embed_seconds, 3),
        "modes": {r.mode: r.as_dict() for r in results},
    }
