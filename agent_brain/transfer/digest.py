"""A per-chunk content hash that is equal on two stores exactly when they hold the same
chunk: id, text, metadata (types included) and the float32 embedding, bit for bit."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from agent_brain.types import Chunk, Metadata


def canonical_metadata(metadata: Metadata) -> str:
    """Sorted-key compact JSON; keeps ``1``, ``1.0``, ``true`` and ``"1"`` apart."""
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def chunk_digest(chunk: Chunk) -> str:
    """sha256 over length-prefixed id, text, canonical metadata and the embedding as
    little-endian float32 bytes (or a marker when the chunk has none)."""
    digest = hashlib.sha256()
    embedding = (b"\x00none" if chunk.embedding is None
                 else np.asarray(chunk.embedding, dtype="<f4").tobytes())
    for part in (chunk.id.encode(), chunk.text.encode(),
                 canonical_metadata(chunk.metadata).encode(), embedding):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()
