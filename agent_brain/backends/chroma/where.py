"""Filter tree → Chroma ``where``, as a *superset* of the exact answer.

Chroma evaluates the ``where`` inside its index scan; the backend then applies the exact
Python predicate to what comes back. The translation therefore only has to be sound (never
drop a true match), and says whether it is also exact, so vector search knows whether to
ask Chroma for more than ``top_k``.

What Chroma 1.x cannot be trusted with, measured against the oracle:

* range operators on strings (unsupported) and ``$exists`` (no such operator);
* a non-integral float operand: Chroma truncates it when comparing stored ints
  (``{"k": {"$lt": 1.5}}`` misses ``k = 1``), so ranges are widened to the enclosing
  integers and ``$ne``/``$nin`` of such floats are dropped;
* numbers beyond 2**53, where int/float comparisons lose precision;
* mixed-kind ``$in`` lists (Chroma wants one type per list: split per kind);
* ``$and``/``$or`` of one element and ``$in: []`` (refused: collapsed / made explicit).

Negations are pushed down to the leaves first (``$not`` of ``$eq`` is ``$ne``, De Morgan
for ``$and``/``$or``); a negated range has no Chroma form and is widened to "anything".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from agent_brain.backends.chroma.encoding import user_key
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

_NEVER = {"ab:never": {"$eq": True}}  # no record carries this key: matches nothing
_SAFE_INT = 2**53
_NEGATE = {"$eq": "$ne", "$ne": "$eq"}

Where = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Translation:
    where: Where | None
    """``None`` means no restriction."""
    exact: bool
    """True when Chroma's answer equals the exact answer (no post-filter would drop rows)."""


def to_where(node: FilterNode | None) -> Translation:
    if node is None:
        return Translation(None, True)
    where, exact = _translate(_push_not(node, negate=False))
    return Translation(where, exact)


def _push_not(node: FilterNode, negate: bool) -> FilterNode:
    """Negation normal form: ``Not`` only directly above leaves it cannot flip."""
    if isinstance(node, Not):
        return _push_not(node.child, not negate)
    if isinstance(node, And | Or):
        children = tuple(_push_not(child, negate) for child in node.children)
        conjunction = isinstance(node, And) != negate  # De Morgan flips under negation
        return And(children) if conjunction else Or(children)
    if not negate:
        return node
    if isinstance(node, Comparison) and node.op in _NEGATE:
        return Comparison(node.key, _NEGATE[node.op], node.value)  # type: ignore[arg-type]
    if isinstance(node, Membership):
        return Membership(node.key, node.values, not node.negated)
    if isinstance(node, Exists):
        return Exists(node.key, not node.present)
    return Not(node)


def _translate(node: FilterNode) -> tuple[Where | None, bool]:
    if isinstance(node, And):
        parts = [_translate(child) for child in node.children]
        wheres = [w for w, _ in parts if w is not None]
        exact = all(e for _, e in parts)
        if not wheres:
            return None, exact
        return (wheres[0] if len(wheres) == 1 else {"$and": wheres}), exact
    if isinstance(node, Or):
        parts = [_translate(child) for child in node.children]
        if any(w is None for w, _ in parts):
            return None, all(e for _, e in parts)
        wheres = [w for w, _ in parts if w is not None]
        return (wheres[0] if len(wheres) == 1 else {"$or": wheres}), all(e for _, e in parts)
    if isinstance(node, Comparison):
        return _comparison(node)
    if isinstance(node, Membership):
        return _membership(node)
    return None, False  # Exists, Not(range): no Chroma form; widen to "anything"


def _comparison(node: Comparison) -> tuple[Where | None, bool]:
    key, op, value = user_key(node.key), node.op, node.value
    kind = value_kind(value)
    if op in ("$eq", "$ne"):
        if kind == "number" and not _trusted_number(value):
            if op == "$eq" and isinstance(value, float) and abs(value) < _SAFE_INT:
                return {key: {"$eq": value}}, False  # Chroma adds truncated ints: a superset
            return None, False
        return {key: {op: value}}, True
    if kind != "number":
        return None, False  # string ranges: not supported by Chroma
    assert isinstance(value, int | float)
    if _trusted_number(value):
        return {key: {op: value}}, True
    if not math.isfinite(value) or abs(value) >= _SAFE_INT:
        return None, False
    widened = math.floor(value) if op in ("$gt", "$gte") else math.ceil(value)
    widened_op = "$gte" if op in ("$gt", "$gte") else "$lte"
    return {key: {widened_op: widened}}, False


def _membership(node: Membership) -> tuple[Where | None, bool]:
    key = user_key(node.key)
    groups: dict[str, list[Any]] = {}
    exact = True
    for value in node.values:
        group: str | None = value_kind(value)
        if group == "number":
            if _trusted_number(value):
                group = "int" if isinstance(value, int) else "float"
            elif node.negated:
                exact = False
                continue  # Chroma would also exclude the truncated int: leave it to Python
            elif isinstance(value, float) and abs(value) < _SAFE_INT:
                exact, group = False, "float"  # Chroma adds truncated ints: a superset
            else:
                return None, False
        assert group is not None
        groups.setdefault(group, []).append(value)
    if not node.negated:
        if not groups:
            return (_NEVER, exact) if exact else (None, False)
        ors: list[Where] = [{key: {"$in": values}} for values in groups.values()]
        return (ors[0] if len(ors) == 1 else {"$or": ors}), exact
    if not groups:
        return None, exact
    ands: list[Where] = [{key: {"$nin": values}} for values in groups.values()]
    return (ands[0] if len(ands) == 1 else {"$and": ands}), exact


def _trusted_number(value: object) -> bool:
    """Numbers Chroma compares exactly against both stored ints and stored floats."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) < _SAFE_INT
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer() and abs(value) < _SAFE_INT
    return False
