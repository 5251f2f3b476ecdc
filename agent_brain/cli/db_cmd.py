"""``agent-brain db upgrade|current|downgrade``: the PostgreSQL schema (Alembic revisions).

The work is done by ``agent_brain.backends.postgres.schema`` (``upgrade(config[,
revision])``, ``current(config)``, ``downgrade(config, revision)``, all async); this module
only parses arguments and prints.
"""

import importlib
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.markup import escape

from agent_brain.cli import runtime
from agent_brain.config import AgentBrainConfig
from agent_brain.errors import ConfigError

db_app = typer.Typer(
    help="PostgreSQL schema migrations (Alembic): upgrade, current, downgrade.",
    no_args_is_help=True,
)


def _schema(config: AgentBrainConfig) -> ModuleType:
    if config.storage.backend != "postgres":
        runtime.fail(
            f"the {config.storage.backend} backend has no schema migrations",
            hint="db commands apply to storage.backend: postgres",
        )
    try:
        return importlib.import_module("agent_brain.backends.postgres.schema")
    except ImportError as exc:
        raise ConfigError(
            f"the 'postgres' backend needs packages that are not installed ({exc.name or exc})",
            hint="pip install 'agent-brain[postgres]'",
        ) from exc


def _show(value: Any) -> str:
    if value is None:
        return "none (no revision applied)"
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value) or "none (no revision applied)"
    return str(value)


@db_app.command("upgrade")
@runtime.handle_errors
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply schema revisions up to REVISION (default: head)."""
    config = runtime.load_cli_config()
    schema = _schema(config)
    if revision == "head":
        runtime.run(schema.upgrade(config))
    else:
        runtime.run(schema.upgrade(config, revision))
    now = runtime.run(schema.current(config))
    runtime.out().print(f"schema upgraded; current revision: {escape(_show(now))}")


@db_app.command("current")
@runtime.handle_errors
def current() -> None:
    """Print the schema revision the database is at."""
    config = runtime.load_cli_config()
    schema = _schema(config)
    runtime.out().print(escape(_show(runtime.run(schema.current(config)))))


@db_app.command("downgrade")
@runtime.handle_errors
def downgrade(
    revision: Annotated[str, typer.Argument(
        help="Revision to go down to ('-1' for one step, 'base' for an empty schema).",
        show_default=False)],
) -> None:
    """Revert schema revisions down to REVISION (destroys data of dropped objects)."""
    config = runtime.load_cli_config()
    schema = _schema(config)
    runtime.run(schema.downgrade(config, revision))
    now = runtime.run(schema.current(config))
    runtime.out().print(f"schema downgraded; current revision: {escape(_show(now))}")
