"""Plain-Python evaluation of a filter tree: the reference semantics (the contract suite's
oracle) and the exact fallback a backend applies where its engine cannot express a filter."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from agent_brain.filters.tree import (
    And,
    Comparison,
    Exists,
    FilterNode,
    Membership,
    Not,
    Or,
    value_kind,
)

Predicate = Callable[[Mapping[str, Any]], bool]

_MISSING = object()
_RANGE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}


def values_equal(stored: object, wanted: object) -> bool:
    """Strict equality: same kind (bool / number / str) and equal; ``1 == 1.0``, ``True != 1``."""
    kind = value_kind(wanted)
    return kind is not None and value_kind(stored) == kind and stored == wanted


def compile_predicate(node: FilterNode | None) -> Predicate:
    """Compile ``node`` once into a fast closure over a metadata mapping."""
    if node is None:
        return lambda metadata: True
    if isinstance(node, Comparison):
        return _compile_comparison(node)
    if isinstance(node, Membership):
        key, negated = node.key, node.negated
        by_kind = {(value_kind(v), v) for v in node.values}

        def member(metadata: Mapping[str, Any]) -> bool:
            value = metadata.get(key, _MISSING)
            found = value is not _MISSING and (value_kind(value), value) in by_kind
            return found != negated

        return member
    if isinstance(node, Exists):
        key, present = node.key, node.present
        return lambda metadata: (key in metadata) == present
    if isinstance(node, Not):
        inner = compile_predicate(node.child)
        return lambda metadata: not inner(metadata)
    parts = [compile_predicate(child) for child in node.children]
    if isinstance(node, And):
        return lambda metadata: all(p(metadata) for p in parts)
    assert isinstance(node, Or)
    return lambda metadata: any(p(metadata) for p in parts)


def _compile_comparison(node: Comparison) -> Predicate:
    key, wanted = node.key, node.value
    if node.op in ("$eq", "$ne"):
        negated = node.op == "$ne"

        def equal(metadata: Mapping[str, Any]) -> bool:
            value = metadata.get(key, _MISSING)
            return (value is not _MISSING and values_equal(value, wanted)) != negated

        return equal
    compare = _RANGE[node.op]
    kind = value_kind(wanted)

    def in_range(metadata: Mapping[str, Any]) -> bool:
        value = metadata.get(key, _MISSING)
        return value_kind(value) == kind and compare(value, wanted)

    return in_range


def matches(node: FilterNode | None, metadata: Mapping[str, Any]) -> bool:
    """Whether ``metadata`` satisfies ``node`` (``None`` matches everything)."""
    return compile_predicate(node)(metadata)
