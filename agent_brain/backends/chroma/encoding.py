"""How chunks are laid out in Chroma, so that every valid name, key and chunk fits.

* A namespace ``ns`` lives in the collection ``ab.<ns>.ns``: Chroma wants 3+ characters that
  start and end alphanumeric, which ``a`` or ``-x_`` are not; the wrapping is injective
  because namespaces never contain a dot.
* A metadata key ``k`` is stored as ``u:k``: Chroma rejects keys starting with ``#`` or ``$``
  and silently drops ``chroma:`` keys; the prefix keeps every user key intact and leaves the
  unprefixed space to our own flags.
* A chunk without an embedding gets a deterministic pseudo-random unit vector (Chroma needs
  one per record; a constant would pile duplicates into the HNSW graph) and the flag
  ``ab:noemb``; vector search never returns it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from agent_brain.types import Metadata

COLLECTION_PREFIX = "ab."
COLLECTION_SUFFIX = ".ns"
STORE_COLLECTION = "agentbrain.store"
USER_PREFIX = "u:"
NO_EMBEDDING = "ab:noemb"
FORMAT_VERSION = 1


def collection_name(namespace: str) -> str:
    return f"{COLLECTION_PREFIX}{namespace}{COLLECTION_SUFFIX}"


def namespace_of(collection: str) -> str | None:
    """The namespace a collection holds, or ``None`` for collections that are not ours."""
    if collection.startswith(COLLECTION_PREFIX) and collection.endswith(COLLECTION_SUFFIX):
        inner = collection[len(COLLECTION_PREFIX):-len(COLLECTION_SUFFIX)]
        if inner and "." not in inner:
            return inner
    return None


def encode_metadata(metadata: Metadata, has_embedding: bool) -> dict[str, Any] | None:
    """User metadata → Chroma metadata (``None`` when empty: Chroma refuses ``{}``)."""
    out: dict[str, Any] = {USER_PREFIX + key: value for key, value in metadata.items()}
    if not has_embedding:
        out[NO_EMBEDDING] = True
    return out or None


def decode_metadata(stored: Mapping[str, Any] | None) -> tuple[Metadata, bool]:
    """Chroma metadata → (user metadata, has_embedding)."""
    if not stored:
        return {}, True
    metadata: Metadata = {}
    for key, value in stored.items():
        if key.startswith(USER_PREFIX):
            metadata[key[len(USER_PREFIX):]] = value
    return metadata, not stored.get(NO_EMBEDDING, False)


def user_key(key: str) -> str:
    return USER_PREFIX + key


def placeholder_vector(chunk_id: str, dimension: int) -> np.ndarray[Any, Any]:
    """A unit vector derived from the id alone: stable across processes and platforms."""
    seed = int.from_bytes(hashlib.sha256(chunk_id.encode("utf-8")).digest()[:8], "little")
    vector = np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        vector[0], norm = 1.0, 1.0
    result: np.ndarray[Any, Any] = vector / norm
    return result
