"""Deterministic chunk ids and content hashes."""

from __future__ import annotations

import hashlib


def content_hash(text: str) -> str:
    """``sha256`` of the UTF-8 text, hex: what ``metadata["content_hash"]`` holds."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_id(source: str, index: int) -> str:
    """Id of chunk ``index`` of the file ``source``: the same on every run and machine that
    sees the same path, so re-ingesting a file replaces its chunks instead of adding more."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:20]
    return f"{digest}-{index:05d}"
