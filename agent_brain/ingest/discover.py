"""Find the files ``agent-brain ingest`` reads."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from agent_brain.errors import InvalidInputError

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".markdown", ".rst"})


def discover_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Path]]:
    """Expand ``paths`` into ``(files to ingest, files skipped)``, each sorted and unique.

    Directories are walked recursively, skipping hidden directories and files (names
    starting with ``.``); only :data:`SUPPORTED_SUFFIXES` are kept. A file named explicitly
    with another suffix is reported as skipped. A path that does not exist is an
    :class:`InvalidInputError`.
    """
    found: set[Path] = set()
    skipped: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise InvalidInputError(
                f"{str(raw)!r} does not exist",
                hint="pass files or folders holding .txt, .md, .markdown or .rst files",
            )
        if path.is_file():
            (found if _supported(path) else skipped).add(path.resolve())
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                if name.startswith("."):
                    continue
                file = Path(root, name)
                if _supported(file):
                    found.add(file.resolve())
    return sorted(found), sorted(skipped - found)


def _supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES
