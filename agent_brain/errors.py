"""Typed errors of Agent Brain.

Every error carries a ``hint`` (how to fix it) besides its message (what was wrong and what
was expected), and subclasses the builtin it resembles so that ``except ValueError`` keeps
working for callers who do not know this library::

    AgentBrainError(Exception)
    ├── ConfigError(AgentBrainError, ValueError)          bad key, type, backend, missing extra
    ├── InvalidInputError(AgentBrainError, ValueError)     refused before anything was written
    │   ├── FilterError                                   malformed filter; names the bad part
    │   └── DimensionMismatchError                        vector length or stored-vs-configured
    └── BackendUnavailableError(AgentBrainError, ConnectionError)
                                                          server down, store locked, not open
"""

from __future__ import annotations

__all__ = [
    "AgentBrainError",
    "BackendUnavailableError",
    "ConfigError",
    "DimensionMismatchError",
    "FilterError",
    "InvalidInputError",
]


class AgentBrainError(Exception):
    """Base of every error this library raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message


class ConfigError(AgentBrainError, ValueError):
    """The configuration is invalid, or asks for something that is not installed."""


class InvalidInputError(AgentBrainError, ValueError):
    """A call's arguments were refused; the store is exactly as it was before the call."""


class FilterError(InvalidInputError):
    """A metadata filter is malformed; the message names the offending part by its path."""


class DimensionMismatchError(InvalidInputError):
    """A vector's length differs from the store's, or the store was built with another model."""


class BackendUnavailableError(AgentBrainError, ConnectionError):
    """The backend cannot be reached or opened (server down, store locked, closed backend)."""
