"""Validate a user's filter dict into a :mod:`~agent_brain.filters.tree` once, or say exactly
which part is wrong."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

from agent_brain.errors import FilterError
from agent_brain.filters.tree import (
    RANGE_OPS,
    And,
    CompareOp,
    Comparison,
    Exists,
    FilterNode,
    Membership,
    Not,
    Or,
)
from agent_brain.types import MetadataValue

COMPARISON_OPS: frozenset[str] = frozenset({"$eq", "$ne", *RANGE_OPS})
FIELD_OPS: frozenset[str] = COMPARISON_OPS | {"$in", "$nin", "$exists"}
LOGIC_OPS: frozenset[str] = frozenset({"$and", "$or", "$not"})
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_GRAMMAR = (
    'filters look like {"key": value}, {"key": {"$gt": 3}}, {"key": {"$in": [1, 2]}}, '
    '{"key": {"$exists": true}}, {"$and": [...]}, {"$or": [...]}, {"$not": {...}}'
)


def parse_filter(filters: Mapping[str, Any] | None) -> FilterNode | None:
    """Parse and validate ``filters``; ``None`` and ``{}`` mean "no filter".

    Raises :class:`FilterError` naming the offending part, e.g. ``filters["$and"][1]["year"]``.
    """
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise FilterError(
            f"filters must be a dict, got {type(filters).__name__}",
            hint=_GRAMMAR,
        )
    if not filters:
        return None
    return _parse_dict(filters, "filters")


def _parse_dict(spec: Mapping[str, Any], path: str) -> FilterNode:
    if not isinstance(spec, Mapping):
        raise FilterError(
            f"{path} must be a dict, got {type(spec).__name__}: {spec!r}", hint=_GRAMMAR
        )
    if not spec:
        raise FilterError(f"{path} is an empty dict; a nested filter needs at least one condition",
                          hint=_GRAMMAR)
    nodes: list[FilterNode] = []
    for key, value in spec.items():
        sub = f"{path}[{key!r}]"
        if not isinstance(key, str):
            raise FilterError(f"{sub}: filter keys must be strings, got {type(key).__name__}",
                              hint=_GRAMMAR)
        if key in ("$and", "$or"):
            nodes.append(_parse_logic(key, value, sub))
        elif key == "$not":
            nodes.append(Not(_parse_dict(value, sub)))
        elif key.startswith("$"):
            raise FilterError(
                f"{sub}: unknown logical operator {key!r}; expected one of $and, $or, $not, "
                "or a metadata key (which must not start with '$')",
                hint=_GRAMMAR,
            )
        elif not key:
            raise FilterError(f"{sub}: metadata keys in filters must be non-empty strings",
                              hint=_GRAMMAR)
        else:
            nodes.append(_parse_field(key, value, sub))
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _parse_logic(op: str, value: Any, path: str) -> FilterNode:
    if not isinstance(value, list | tuple):
        raise FilterError(
            f"{path}: {op} takes a list of filters, got {type(value).__name__}: {value!r}",
            hint=f'write {{"{op}": [{{"a": 1}}, {{"b": 2}}]}}',
        )
    if not value:
        raise FilterError(f"{path}: {op} needs at least one filter, got an empty list",
                          hint=f"drop the empty {op}, or give it one or more filters")
    children = tuple(_parse_dict(item, f"{path}[{i}]") for i, item in enumerate(value))
    if len(children) == 1:
        return children[0]
    return And(children) if op == "$and" else Or(children)


def _parse_field(key: str, value: Any, path: str) -> FilterNode:
    if not isinstance(value, Mapping):
        return Comparison(key, "$eq", _scalar(value, path))
    if not value:
        raise FilterError(f"{path}: an empty operator dict; expected e.g. {{'$eq': value}}",
                          hint=_GRAMMAR)
    nodes: list[FilterNode] = []
    for op, operand in value.items():
        sub = f"{path}[{op!r}]"
        if not isinstance(op, str) or op not in FIELD_OPS:
            if isinstance(op, str) and not op.startswith("$"):
                raise FilterError(
                    f"{sub}: metadata is flat; a field condition must be a value or an "
                    f"operator dict, and {op!r} is not an operator",
                    hint="expected one of " + ", ".join(sorted(FIELD_OPS)),
                )
            raise FilterError(f"{sub}: unknown operator {op!r}",
                              hint="expected one of " + ", ".join(sorted(FIELD_OPS)))
        if op in ("$in", "$nin"):
            if not isinstance(operand, list | tuple):
                raise FilterError(
                    f"{sub}: {op} takes a list of values, got {type(operand).__name__}: "
                    f"{operand!r}",
                    hint=f'write {{"{key}": {{"{op}": [value, ...]}}}}',
                )
            values = tuple(_scalar(v, f"{sub}[{i}]") for i, v in enumerate(operand))
            nodes.append(Membership(key, values, negated=(op == "$nin")))
        elif op == "$exists":
            if not isinstance(operand, bool):
                raise FilterError(f"{sub}: $exists takes true or false, got {operand!r}",
                                  hint=f'write {{"{key}": {{"$exists": true}}}}')
            nodes.append(Exists(key, operand))
        else:
            scalar = _scalar(operand, sub)
            if op in RANGE_OPS and isinstance(scalar, bool):
                raise FilterError(
                    f"{sub}: {op} compares numbers or strings, got the bool {scalar!r}",
                    hint="use $eq / $ne for booleans",
                )
            nodes.append(Comparison(key, cast(CompareOp, op), scalar))
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def _scalar(value: Any, path: str) -> MetadataValue:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise FilterError(f"{path}: integer {value} does not fit in 64 bits",
                              hint="metadata integers are 64-bit; compare with a float instead")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FilterError(f"{path}: {value!r} is not a finite number",
                              hint="filter values must be finite")
        return 0.0 if value == 0 else value
    kind = "a list (use $in for a list of values)" if isinstance(value, list | tuple) else (
        type(value).__name__
    )
    raise FilterError(
        f"{path}: filter values must be str, int, float or bool, got {kind}: {value!r}",
        hint=_GRAMMAR,
    )
