"""Metadata values ⇄ ``jsonb``, keeping ``1``, ``1.0``, ``True`` and ``"1"`` apart.

``jsonb`` stores numbers as ``numeric``, which remembers how many digits followed the decimal
point but not an exponent: ``json.dumps(1e16)`` is ``1e+16``, which ``jsonb`` prints back as
``10000000000000000`` and ``json.loads`` then reads as an ``int``. So floats are written here
in plain decimal notation that always has a fractional part (``10000000000000000.0``,
``0.0000001``), and come back as floats; ints have none and come back as ints.

Numbers are written as exact decimals, so ``numeric`` comparisons in SQL order them exactly
as Python does: floats below 2**53 by their shortest round-trip repr (which preserves order
against any int or float), larger floats (all integral) by their exact integer value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from agent_brain.types import Metadata, MetadataValue

_EXACT_FLOAT_LIMIT = 2.0**53
_SURROGATE = re.compile("[\ud800-\udfff]")


def float_literal(value: float) -> str:
    """``value`` in plain decimal notation with a fractional part (JSON and ``numeric``)."""
    if value.is_integer() and abs(value) >= _EXACT_FLOAT_LIMIT:
        return f"{int(value)}.0"
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


def scalar_json(value: MetadataValue) -> str:
    """One metadata value as JSON text that ``jsonb`` keeps with its Python type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return float_literal(value)
    return json.dumps(value, ensure_ascii=False)


def metadata_json(metadata: Mapping[str, MetadataValue]) -> str:
    """A flat metadata dict as JSON text for a ``jsonb`` column or parameter."""
    return "{" + ",".join(
        json.dumps(key, ensure_ascii=False) + ":" + scalar_json(value)
        for key, value in metadata.items()
    ) + "}"


def numeric(value: int | float) -> Decimal:
    """A number as the exact ``numeric`` its stored form compares as."""
    if isinstance(value, float):
        return Decimal(float_literal(value))
    return Decimal(value)


def load_metadata(raw: str | Mapping[str, Any]) -> Metadata:
    """Decode a ``jsonb`` value read back from PostgreSQL."""
    if isinstance(raw, str):
        loaded: Metadata = json.loads(raw)
        return loaded
    return dict(raw)


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate, which UTF-8 (and so PostgreSQL) cannot store."""
    return _SURROGATE.search(text) is not None


def without_surrogates(text: str) -> str:
    """``text`` with lone surrogates replaced by spaces (they are never word characters)."""
    return _SURROGATE.sub(" ", text)


def vector_to_list(value: Any) -> list[float]:
    """A decoded ``vector`` as a list of floats. pgvector-python's codec yields a ``Vector``
    from 0.4 on and a numpy array before; peers' packages still pin the older one."""
    if hasattr(value, "to_list"):
        out: list[float] = value.to_list()
        return out
    return [float(x) for x in value]
