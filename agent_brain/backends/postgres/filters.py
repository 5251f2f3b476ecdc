"""The filter tree (:mod:`agent_brain.filters.tree`) compiled to a SQL predicate over the
``metadata jsonb`` column, answering exactly as :mod:`agent_brain.filters.evaluate` does.

* Keys and values are bound parameters, never SQL text (``metadata -> $3::text``).
* Every predicate is parenthesized and never NULL, so ``NOT`` and ``OR`` compose safely.
* Equality is ``jsonb`` containment (``metadata @> '{"k": v}'``): numbers compare by value
  (``1`` matches ``1.0``), while a bool, a number and a string never equal each other. It is
  what the ``jsonb_path_ops`` GIN index answers.
* Ranges go through ``CASE jsonb_typeof(...)`` (SQL does not promise to short-circuit
  ``AND``): numbers as exact ``numeric``, strings in code-point order (``COLLATE "C"``,
  which is UTF-8 byte order); anything else is no match.
* A missing key makes ``@>``, ``?`` and the ranges false, so ``$ne``, ``$nin``, ``$not`` and
  ``$exists: false`` (their negations) match it.

Strings holding a lone surrogate cannot be sent to PostgreSQL, and no stored value or key
holds one (writes refuse them), so they are resolved here: such a value equals nothing, and
a range bound is replaced by the nearest surrogate-free bound that selects the same strings.
"""

from __future__ import annotations

from typing import Any

from agent_brain.backends.postgres.codec import has_surrogate, numeric, scalar_json
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
from agent_brain.types import MetadataValue

_SQL_OP = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_MAX_OR_TERMS = 32
"""``$in`` lists up to this size become ORed containments (each can use the GIN index)."""


class Params:
    """Bound parameters of one statement, numbered from ``start``."""

    def __init__(self, start: int = 1) -> None:
        self.start = start
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${self.start + len(self.values) - 1}"


def compile_filter(node: FilterNode | None, params: Params, column: str = "c.metadata") -> str:
    """A parenthesized SQL boolean for ``node`` (``TRUE`` for no filter)."""
    if node is None:
        return "(TRUE)"
    return _Compiler(params, column).node(node)


class _Compiler:
    def __init__(self, params: Params, column: str) -> None:
        self.params = params
        self.col = column

    def node(self, node: FilterNode) -> str:
        if isinstance(node, Comparison):
            return self.comparison(node)
        if isinstance(node, Membership):
            return self.membership(node)
        if isinstance(node, Exists):
            return self.exists(node)
        if isinstance(node, Not):
            return f"(NOT {self.node(node.child)})"
        parts = [self.node(child) for child in node.children]
        joiner = " AND " if isinstance(node, And) else " OR "
        assert isinstance(node, And | Or)
        return "(" + joiner.join(parts) + ")"

    def contains(self, key: str, value: MetadataValue) -> str:
        return f"({self.col} @> {self.params.add(_pair(key, value))}::jsonb)"

    def comparison(self, node: Comparison) -> str:
        key, value = node.key, node.value
        if node.op in ("$eq", "$ne"):
            negate = node.op == "$ne"
            if has_surrogate(key) or (isinstance(value, str) and has_surrogate(value)):
                return "(TRUE)" if negate else "(FALSE)"
            test = self.contains(key, value)
            return f"(NOT {test})" if negate else test
        if has_surrogate(key):
            return "(FALSE)"
        op = _SQL_OP[node.op]
        if isinstance(value, str):
            if has_surrogate(value):
                value, op = _surrogate_free_bound(value, node.op)
            k = self.params.add(key)
            field, text = f"{self.col} -> {k}::text", f"{self.col} ->> {k}::text"
            bound = self.params.add(value)
            return (f"(CASE WHEN jsonb_typeof({field}) = 'string' "
                    f'THEN ({text}) COLLATE "C" {op} {bound}::text ELSE FALSE END)')
        assert not isinstance(value, bool)
        field = f"{self.col} -> {self.params.add(key)}::text"
        bound = self.params.add(numeric(value))
        return (f"(CASE WHEN jsonb_typeof({field}) = 'number' "
                f"THEN ({field})::numeric {op} {bound}::numeric ELSE FALSE END)")

    def membership(self, node: Membership) -> str:
        # dedupe by (kind, value): a plain dict would merge True into 1
        values = [] if has_surrogate(node.key) else [
            v for _, v in dict.fromkeys((value_kind(v), v) for v in node.values)
            if not (isinstance(v, str) and has_surrogate(v))
        ]
        if not values:
            return "(TRUE)" if node.negated else "(FALSE)"
        if len(values) <= _MAX_OR_TERMS:
            test = "(" + " OR ".join(self.contains(node.key, v) for v in values) + ")"
        else:
            pairs = [_pair(node.key, v) for v in values]
            test = f"({self.col} @> ANY({self.params.add(pairs)}::jsonb[]))"
        return f"(NOT {test})" if node.negated else test

    def exists(self, node: Exists) -> str:
        if has_surrogate(node.key):
            return "(FALSE)" if node.present else "(TRUE)"
        test = f"({self.col} ? {self.params.add(node.key)}::text)"
        return test if node.present else f"(NOT {test})"


def _pair(key: str, value: MetadataValue) -> str:
    """``{"key": value}`` as JSON text typed the way the stored value is."""
    return "{" + scalar_json(key) + ":" + scalar_json(value) + "}"


def _surrogate_free_bound(bound: str, op: str) -> tuple[str, str]:
    """For strings without surrogates, ``s < bound`` ⟺ ``s < p + U+E000`` where ``p`` is
    ``bound`` up to its first surrogate (U+E000 is the first code point above them), and
    ``s`` never equals ``bound``; so ``<``/``<=`` become ``< t`` and ``>``/``>=`` ``>= t``."""
    cut = next(i for i, ch in enumerate(bound) if "\ud800" <= ch <= "\udfff")
    replacement = bound[:cut] + "\ue000"
    return replacement, ("<" if op in ("$lt", "$lte") else ">=")
