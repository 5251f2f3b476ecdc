"""Transaction-local server settings (``set_config(name, value, true)``, i.e. ``SET LOCAL``)
as select-list items, so that a search applies them in a statement it sends anyway."""

from __future__ import annotations

from collections.abc import Sequence


def set_config_sql(settings: Sequence[tuple[str, str]], first: int) -> str:
    """Select-list items applying ``settings`` for the transaction, names and values bound
    from parameter ``$first`` on (one call per setting: ~0.05 ms less a search than
    ``unnest`` over two arrays)."""
    return ", ".join(f"set_config(${first + 2 * i}, ${first + 2 * i + 1}, true)"
                     for i in range(len(settings)))


def set_config_args(settings: Sequence[tuple[str, str]]) -> list[str]:
    return [part for setting in settings for part in setting]
