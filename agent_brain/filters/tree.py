"""The typed filter tree that every backend consumes.

:func:`agent_brain.filters.parse_filter` turns a user's dict into these nodes once; each
backend compiles the tree to its own language (SQL, Chroma ``where``, Python), so a filter
is validated in exactly one place and means exactly one thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from agent_brain.types import MetadataValue

CompareOp = Literal["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]
RANGE_OPS: frozenset[str] = frozenset({"$gt", "$gte", "$lt", "$lte"})


@dataclass(frozen=True, slots=True)
class Comparison:
    """``key <op> value``. ``$ne`` matches chunks that lack ``key`` (Mongo's rule)."""

    key: str
    op: CompareOp
    value: MetadataValue


@dataclass(frozen=True, slots=True)
class Membership:
    """``$in`` (``negated=False``) or ``$nin``; ``$nin`` matches chunks that lack ``key``."""

    key: str
    values: tuple[MetadataValue, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Exists:
    """``{"key": {"$exists": present}}``."""

    key: str
    present: bool


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[FilterNode, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[FilterNode, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The complement: everything ``child`` does not match, chunks lacking its keys included."""

    child: FilterNode


FilterNode: TypeAlias = Comparison | Membership | Exists | And | Or | Not


def value_kind(value: object) -> Literal["bool", "number", "str"] | None:
    """The comparison class of a metadata value: ints and floats compare with each other;
    bools and strings only with their own kind."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "str"
    return None


def filter_keys(node: FilterNode) -> set[str]:
    """Every metadata key a filter reads (for planning and diagnostics)."""
    if isinstance(node, Comparison | Membership | Exists):
        return {node.key}
    if isinstance(node, Not):
        return filter_keys(node.child)
    keys: set[str] = set()
    for child in node.children:
        keys |= filter_keys(child)
    return keys
