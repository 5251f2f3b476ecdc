"""One filter language for every backend: parse once into a typed tree, compile per target.

The grammar is specified in :class:`agent_brain.protocol.StorageBackendProtocol`'s docstring.
"""

from agent_brain.filters.evaluate import Predicate, compile_predicate, matches, values_equal
from agent_brain.filters.parse import parse_filter
from agent_brain.filters.tree import (
    And,
    Comparison,
    Exists,
    FilterNode,
    Membership,
    Not,
    Or,
    filter_keys,
    value_kind,
)

__all__ = [
    "And",
    "Comparison",
    "Exists",
    "FilterNode",
    "Membership",
    "Not",
    "Or",
    "Predicate",
    "compile_predicate",
    "filter_keys",
    "matches",
    "parse_filter",
    "value_kind",
    "values_equal",
]
