"""The ``agent-brain`` command: ``agent-brain [--config PATH] [--debug] COMMAND``."""

from pathlib import Path
from typing import Annotated

import typer

from agent_brain import __version__
from agent_brain.cli import runtime
from agent_brain.cli.db_cmd import db_app
from agent_brain.cli.doctor_cmd import doctor
from agent_brain.cli.eval_cmd import eval_
from agent_brain.cli.ingest_cmd import ingest
from agent_brain.cli.search_cmd import search
from agent_brain.cli.stats_cmd import stats
from agent_brain.cli.transfer_cmd import export, import_, migrate_cmd

app = typer.Typer(
    name="agent-brain",
    help="Agent Brain: ingest, search, evaluate and move a RAG store (ChromaDB or "
    "PostgreSQL + pgvector).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agent-brain {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", envvar="AGENT_BRAIN_CONFIG", dir_okay=False,
        help="YAML configuration (default: built-in defaults + AGENT_BRAIN_* variables).")]
    = None,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show tracebacks of unexpected errors.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    runtime.set_state(runtime.State(config_path=config, debug=debug))


app.command("ingest")(ingest)
app.command("search")(search)
app.command("stats")(stats)
app.command("export")(export)
app.command("import")(import_)
app.command("migrate")(migrate_cmd)
app.add_typer(db_app, name="db")
app.command("doctor")(doctor)
app.command("eval")(eval_)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="agent-brain")
