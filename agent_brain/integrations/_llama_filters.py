"""LlamaIndex ``MetadataFilters`` → Agent Brain's filter dicts.

Every operator with a faithful meaning over Agent Brain's flat, scalar, strictly typed
metadata is translated; the others raise :class:`~agent_brain.errors.FilterError` naming the
filter, instead of quietly meaning something else on this store than on another.

============================  ==========================================================
LlamaIndex                    Agent Brain
============================  ==========================================================
``EQ`` ``NE``                 ``$eq`` ``$ne`` (``NE`` matches nodes lacking the key)
``GT`` ``GTE`` ``LT`` ``LTE`` ``$gt`` ``$gte`` ``$lt`` ``$lte`` (numbers with numbers,
                              strings with strings)
``IN`` ``NIN``                ``$in`` ``$nin`` (a list; ``NIN`` matches nodes lacking
                              the key)
``IS_EMPTY``                  the key is missing (``None`` values are not stored) or
                              ``""``, as llama-index-core's own evaluator defines it
``AND`` ``OR``                ``$and`` ``$or`` (empty: everything / nothing)
``NOT``                       ``$not`` of ``$or``: none of the filters match (empty:
                              everything)
``ANY`` ``ALL`` ``CONTAINS``  refused: array operators, and metadata values are scalars
``TEXT_MATCH``,               refused: substring matching is not in the filter
``TEXT_MATCH_INSENSITIVE``    language (use ``TEXT_SEARCH`` mode for keyword search)
============================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from agent_brain.errors import FilterError

_COMPARISONS: dict[FilterOperator, str] = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
}
_MEMBERSHIP: dict[FilterOperator, str] = {FilterOperator.IN: "$in", FilterOperator.NIN: "$nin"}
_REFUSED: dict[FilterOperator, str] = {
    FilterOperator.ANY: "it tests array-valued metadata and Agent Brain stores scalars only; "
    "for 'the value is one of ...' use FilterOperator.IN",
    FilterOperator.ALL: "it tests array-valued metadata and Agent Brain stores scalars only",
    FilterOperator.CONTAINS: "it tests array-valued metadata and Agent Brain stores scalars "
    "only; for equality use FilterOperator.EQ",
    FilterOperator.TEXT_MATCH: "substring matching is not part of Agent Brain's filter "
    "language; use VectorStoreQueryMode.TEXT_SEARCH (BM25) to search text, or EQ/IN for "
    "exact values",
    FilterOperator.TEXT_MATCH_INSENSITIVE: "substring matching is not part of Agent Brain's "
    "filter language; use VectorStoreQueryMode.TEXT_SEARCH (BM25) to search text, or EQ/IN "
    "for exact values",
}

_TRUE: dict[str, Any] = {}
"""Matches everything (only ever returned at the top, as ``None``)."""
NOTHING: dict[str, Any] = {"$and": [{"__agent_brain_nothing__": {"$in": []}}]}
"""Matches nothing: an empty ``$in`` never matches."""

_HINT = (
    "supported: EQ, NE, GT, GTE, LT, LTE, IN, NIN, IS_EMPTY, with AND / OR / NOT and nested "
    "MetadataFilters; or pass Agent Brain's own filter dict as agent_brain_filters="
)


def translate_filters(filters: MetadataFilters | None) -> dict[str, Any] | None:
    """Agent Brain's filter dict for ``filters`` (``None``: no filter)."""
    if filters is None:
        return None
    result = _group(filters, "filters")
    return None if result is _TRUE else result


def combine(*parts: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """AND of filter dicts, dropping empty ones."""
    present = [dict(p) for p in parts if p]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return {"$and": present}


def _group(filters: MetadataFilters, path: str) -> dict[str, Any]:
    condition = filters.condition or FilterCondition.AND
    parts: list[dict[str, Any]] = []
    for i, item in enumerate(filters.filters):
        sub = f"{path}.filters[{i}]"
        if isinstance(item, MetadataFilters):
            parts.append(_group(item, sub))
        elif isinstance(item, MetadataFilter):
            parts.append(_leaf(item, sub))
        else:
            raise FilterError(
                f"{sub} must be a MetadataFilter or MetadataFilters, got "
                f"{type(item).__name__}",
                hint=_HINT,
            )
    if condition == FilterCondition.AND:
        return _all(parts)
    if condition == FilterCondition.OR:
        return _any(parts)
    if condition == FilterCondition.NOT:  # none of them matches
        return _negate(_any(parts))
    raise FilterError(f"{path}.condition {condition!r} is not supported", hint=_HINT)


def _all(parts: list[dict[str, Any]]) -> dict[str, Any]:
    if any(p is NOTHING for p in parts):
        return NOTHING
    kept = [p for p in parts if p is not _TRUE]
    if not kept:
        return _TRUE
    return kept[0] if len(kept) == 1 else {"$and": kept}


def _any(parts: list[dict[str, Any]]) -> dict[str, Any]:
    if any(p is _TRUE for p in parts):
        return _TRUE
    kept = [p for p in parts if p is not NOTHING]
    if not kept:
        return NOTHING
    return kept[0] if len(kept) == 1 else {"$or": kept}


def _negate(part: dict[str, Any]) -> dict[str, Any]:
    if part is _TRUE:
        return NOTHING
    if part is NOTHING:
        return _TRUE
    return {"$not": part}


def _leaf(item: MetadataFilter, path: str) -> dict[str, Any]:
    op = FilterOperator(item.operator)
    key, value = item.key, item.value
    where = f"{path} (key={key!r}, operator={op.name})"
    if op in _REFUSED:
        raise FilterError(f"{where} cannot be expressed: {_REFUSED[op]}", hint=_HINT)
    if op == FilterOperator.IS_EMPTY:
        return {"$or": [{key: {"$exists": False}}, {key: {"$eq": ""}}]}
    if op in _COMPARISONS:
        if value is None or isinstance(value, list):
            raise FilterError(
                f"{where} needs one str, int or float value, got {value!r}",
                hint="test for a missing key with FilterOperator.IS_EMPTY"
                if value is None else "for several values use FilterOperator.IN",
            )
        return {key: {_COMPARISONS[op]: value}}
    if op in _MEMBERSHIP:
        if not isinstance(value, list):
            raise FilterError(f"{where} needs a list of values, got {value!r}",
                              hint="for a single value use FilterOperator.EQ / NE")
        return {key: {_MEMBERSHIP[op]: list(value)}}
    raise FilterError(f"{where}: unknown operator", hint=_HINT)  # pragma: no cover
