"""What every command shares: options state, consoles, error rendering and exit codes,
configuration and embedder resolution, and opening a backend through the protocol only.

Exit codes: 0 success; 1 a failed check, an unreachable service or an unexpected error;
2 bad usage (click's usage errors, :class:`ConfigError`, :class:`InvalidInputError` and
its subclasses such as :class:`FilterError`); 130 interrupted.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from agent_brain.config import AgentBrainConfig, load_config
from agent_brain.embedders.resolve import ResolvedEmbedding as ResolvedEmbedding
from agent_brain.embedders.resolve import describe_embedder as describe_embedder
from agent_brain.embedders.resolve import resolve_embedding as resolve_embedding
from agent_brain.embedders.resolve import store_config as store_config
from agent_brain.errors import AgentBrainError, ConfigError, InvalidInputError
from agent_brain.factory import create_backend
from agent_brain.protocol import StorageBackendProtocol

P = ParamSpec("P")
T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


@dataclass(slots=True)
class State:
    config_path: Path | None = None
    debug: bool = False


_STATE: ContextVar[State | None] = ContextVar("agent_brain_cli_state", default=None)

# typer >= 0.24 vendors click (typer._click), older typer re-exports click's classes: find
# the usage-error base through typer's public BadParameter, whichever it is.
_PASS_THROUGH: tuple[type[BaseException], ...] = (
    typer.Exit,
    typer.Abort,
    next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"),
)


def set_state(value: State) -> None:
    """Called by the root callback with ``--config`` and ``--debug``."""
    _STATE.set(value)


def state() -> State:
    """The root options (``--config``, ``--debug``) of the running command."""
    return _STATE.get() or State()


def out() -> Console:
    """Results (tables); stdout."""
    return Console(highlight=False, soft_wrap=False)


def err() -> Console:
    """Status, progress, warnings and errors; stderr, so stdout stays parseable."""
    return Console(stderr=True, highlight=False)


def exit_code_for(exc: AgentBrainError) -> int:
    return EXIT_USAGE if isinstance(exc, ConfigError | InvalidInputError) else EXIT_FAILED


def print_error(exc: AgentBrainError) -> None:
    console = err()
    console.print(f"[bold red]Error:[/] [red]{escape(exc.message)}[/]")
    if exc.hint:
        console.print(f"[red]Hint:[/] {escape(exc.hint)}")


def fail(message: str, *, hint: str | None = None, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``message`` (and ``hint``) in red and exit with ``code``."""
    print_error(AgentBrainError(message, hint=hint))
    raise typer.Exit(code)


def handle_errors(fn: Callable[P, T]) -> Callable[P, T]:
    """Run a command, turning errors into a red message and an exit code (never a
    traceback, unless ``--debug``)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        debug = state().debug
        try:
            return fn(*args, **kwargs)
        except _PASS_THROUGH:
            raise
        except AgentBrainError as exc:
            if debug:
                err().print_exception()
            print_error(exc)
            raise typer.Exit(exit_code_for(exc)) from None
        except KeyboardInterrupt:
            err().print("[yellow]Interrupted.[/]")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if debug:
                err().print_exception()
            message = str(exc).splitlines()[0] if str(exc) else ""
            err().print(
                f"[bold red]Unexpected error:[/] [red]{escape(type(exc).__name__)}"
                f"{': ' + escape(message) if message else ''}[/]"
                + ("" if debug else "\nre-run with --debug for the traceback")
            )
            raise typer.Exit(EXIT_FAILED) from None

    return wrapper


def run(coroutine: Awaitable[T]) -> T:
    """Run the command's async body on a fresh event loop."""

    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


def load_cli_config(path: Path | None = None, *, environ: bool = True) -> AgentBrainConfig:
    """The configuration of ``--config`` (or ``path``), over defaults and environment."""
    chosen = path if path is not None else state().config_path
    return load_config(chosen, environ=environ)


def say_embedder(resolved: ResolvedEmbedding) -> None:
    colour = "yellow" if resolved.fallback else "cyan"
    err().print(f"[{colour}]embedder:[/] {escape(resolved.label)}")


@asynccontextmanager
async def opened(config: AgentBrainConfig) -> AsyncIterator[StorageBackendProtocol]:
    """``create_backend`` + ``initialize``; always closed."""
    backend = create_backend(config)
    try:
        await backend.initialize()
        yield backend
    finally:
        await backend.close()


def progress(console: Console | None = None) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or err(),
        transient=False,
    )


def echo_json(payload: Any) -> None:
    """Machine-readable output: plain JSON on stdout, no rich formatting."""
    import json

    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
