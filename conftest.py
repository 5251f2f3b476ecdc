"""Test-session rules shared by ``contract_tests/`` and ``tests/``.

A PostgreSQL test that cannot get a server is skipped on a laptop but is an error when the
``CI`` variable is set: CI must run both backends for real.
"""

from __future__ import annotations

import os

import pytest

IN_CI = bool(os.environ.get("CI"))


def require_or_skip(reason: str) -> None:
    """Skip locally; fail in CI, where a missing server means the run is not real."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)
