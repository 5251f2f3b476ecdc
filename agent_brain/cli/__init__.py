"""The ``agent-brain`` command-line tool (typer + rich), built on the storage protocol only.

``main`` is the console-script entry point; ``app`` is the typer application (tests run it
in-process with ``typer.testing.CliRunner``).
"""

from agent_brain.cli.app import app, main

__all__ = ["app", "main"]
