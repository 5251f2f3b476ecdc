"""Input checks shared by every backend, run before anything is written.

Each check raises :class:`InvalidInputError` (or :class:`DimensionMismatchError`) naming the
offending item, e.g. ``chunks[73].embedding[12] is NaN``, and always says nothing was written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent_brain.errors import DimensionMismatchError, InvalidInputError
from agent_brain.filters.parse import INT64_MAX, INT64_MIN, parse_filter
from agent_brain.filters.tree import FilterNode
from agent_brain.types import Chunk, Metadata

NAMESPACE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,63}")
MAX_ID_LENGTH = 512
NOTHING_WRITTEN = "(nothing was written)"


def check_namespace(namespace: object) -> str:
    """Return ``namespace`` if it matches ``[A-Za-z0-9_-]{1,63}``."""
    if not isinstance(namespace, str) or NAMESPACE_PATTERN.fullmatch(namespace) is None:
        raise InvalidInputError(
            f"invalid namespace {namespace!r}: expected 1-63 characters from "
            "A-Z, a-z, 0-9, '_' and '-'",
            hint="pick a name such as 'default', 'team-a' or 'tenant_42'",
        )
    return namespace


def check_top_k(top_k: object, max_top_k: int) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= max_top_k:
        raise InvalidInputError(
            f"top_k must be an integer from 1 to {max_top_k}, got {top_k!r}",
            hint="ask for fewer results and page with get() if you need a full listing",
        )
    return top_k


def check_ids(ids: object, what: str = "ids") -> list[str]:
    """Validate an id list given to get/delete (duplicates are allowed and collapse)."""
    if isinstance(ids, str) or not isinstance(ids, Sequence | set | frozenset):
        raise InvalidInputError(
            f"{what} must be a list of strings, got {type(ids).__name__}",
            hint=f"pass {what}=[...] (a single id goes in a one-element list)",
        )
    out: list[str] = []
    for i, item in enumerate(ids):
        if not isinstance(item, str) or not item:
            raise InvalidInputError(f"{what}[{i}] must be a non-empty string, got {item!r}")
        out.append(item)
    return out


def check_delete(ids: object, filters: Mapping[str, Any] | None, namespace: str
                 ) -> tuple[FilterNode | None, list[str] | None]:
    """The guard every backend's ``delete`` starts with: the parsed filter and the
    distinct ids (``None``: not restricted by id). Refuses a call with neither, so that a
    forgotten argument never empties a namespace."""
    node = parse_filter(filters)
    if ids is None and node is None:
        raise InvalidInputError(
            "delete() needs ids, filters or both; it never deletes a whole namespace "
            "by accident (nothing was deleted)",
            hint=f"use reset({namespace!r}) to remove every chunk of the namespace",
        )
    return node, None if ids is None else list(dict.fromkeys(check_ids(ids)))


def check_limit_offset(limit: object, offset: object) -> tuple[int | None, int]:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInputError(f"limit must be None or an integer >= 0, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset must be an integer >= 0, got {offset!r}")
    return limit, offset


def check_query_embedding(embedding: object, dimension: int) -> np.ndarray[Any, Any]:
    """Return the query vector as float32, refusing a wrong length or non-finite values."""
    vector = _as_vector(embedding, "query embedding")
    if vector.shape[0] != dimension:
        raise DimensionMismatchError(
            f"query embedding has {vector.shape[0]} dimensions; this store holds "
            f"{dimension}-dimensional vectors",
            hint="embed the query with the same model that embedded the chunks",
        )
    if not np.all(np.isfinite(vector)):
        bad = int(np.flatnonzero(~np.isfinite(vector))[0])
        raise InvalidInputError(f"query embedding[{bad}] is {vector[bad]}; expected finite floats")
    if not np.any(vector):
        raise InvalidInputError("query embedding is all zeros; cosine similarity is undefined",
                                hint="check the embedder's output")
    return vector


def check_query_text(query: object) -> str:
    if not isinstance(query, str):
        raise InvalidInputError(f"query must be a str, got {type(query).__name__}")
    if "\x00" in query:
        raise InvalidInputError("query contains a NUL character (\\x00)",
                                hint="strip NUL characters from the query")
    return query


@dataclass(slots=True)
class ValidatedBatch:
    """An upsert batch that passed every check: safe for any backend to write."""

    chunks: list[Chunk]
    """Chunks with copied, normalised metadata (``-0.0`` becomes ``0.0``)."""
    vectors: list[np.ndarray[Any, Any] | None]
    """Each chunk's embedding as a float32 vector (``None`` where it has none)."""


def validate_chunks(chunks: object, dimension: int) -> ValidatedBatch:
    """Check a whole upsert batch; the first problem found is raised and nothing is written."""
    if isinstance(chunks, Chunk) or not isinstance(chunks, Sequence):
        raise InvalidInputError(
            f"chunks must be a list of Chunk, got {type(chunks).__name__} {NOTHING_WRITTEN}",
            hint="wrap a single chunk in a list: upsert([chunk])",
        )
    seen: dict[str, int] = {}
    out: list[Chunk] = []
    rows: list[int] = []
    vectors: list[np.ndarray[Any, Any]] = []
    aligned: list[np.ndarray[Any, Any] | None] = []
    for i, chunk in enumerate(chunks):
        where = f"chunks[{i}]"
        if not isinstance(chunk, Chunk):
            raise InvalidInputError(
                f"{where} is a {type(chunk).__name__}, expected agent_brain.Chunk {NOTHING_WRITTEN}"
            )
        _check_id(chunk.id, where)
        if chunk.id in seen:
            raise InvalidInputError(
                f"{where}.id {chunk.id!r} repeats chunks[{seen[chunk.id]}].id; ids must be "
                f"unique within one upsert {NOTHING_WRITTEN}",
                hint="merge or drop the duplicate before upserting",
            )
        seen[chunk.id] = i
        _check_text(chunk.text, where)
        metadata = check_metadata(chunk.metadata, where)
        if chunk.embedding is not None:
            vector = _as_vector(chunk.embedding, f"{where}.embedding")
            if vector.shape[0] != dimension:
                raise DimensionMismatchError(
                    f"{where}.embedding has {vector.shape[0]} dimensions; the store is "
                    f"configured for {dimension} {NOTHING_WRITTEN}",
                    hint="embed with the configured model, or change embedding.dimension "
                    "for a new store",
                )
            vectors.append(vector)
            rows.append(i)
        out.append(Chunk(chunk.id, chunk.text, chunk.embedding, metadata))
        aligned.append(vectors[-1] if chunk.embedding is not None else None)
    if vectors:
        matrix = np.vstack(vectors)
        finite = np.isfinite(matrix)
        if not finite.all():
            r, c = (int(x) for x in np.argwhere(~finite)[0])
            raise InvalidInputError(
                f"chunks[{rows[r]}].embedding[{c}] is {matrix[r, c]}; embeddings must be "
                f"finite floats {NOTHING_WRITTEN}"
            )
        norms = np.linalg.norm(matrix, axis=1)
        if not norms.all():
            r = int(np.flatnonzero(norms == 0)[0])
            raise InvalidInputError(
                f"chunks[{rows[r]}].embedding is all zeros; cosine similarity is undefined "
                f"{NOTHING_WRITTEN}",
                hint="store the chunk with embedding=None if it has no vector",
            )
    return ValidatedBatch(out, aligned)


def _check_id(chunk_id: object, where: str) -> None:
    if not isinstance(chunk_id, str) or not chunk_id:
        raise InvalidInputError(
            f"{where}.id must be a non-empty string, got {chunk_id!r} {NOTHING_WRITTEN}"
        )
    if len(chunk_id) > MAX_ID_LENGTH:
        raise InvalidInputError(
            f"{where}.id is {len(chunk_id)} characters; at most {MAX_ID_LENGTH} are allowed "
            f"{NOTHING_WRITTEN}",
            hint="use a content hash or a shorter key as the id",
        )
    if "\x00" in chunk_id:
        raise InvalidInputError(f"{where}.id contains a NUL character {NOTHING_WRITTEN}")


def _check_text(text: object, where: str) -> None:
    if not isinstance(text, str):
        raise InvalidInputError(
            f"{where}.text must be a str, got {type(text).__name__} {NOTHING_WRITTEN}"
        )
    if "\x00" in text:
        raise InvalidInputError(
            f"{where}.text contains a NUL character (\\x00) at offset {text.index(chr(0))} "
            f"{NOTHING_WRITTEN}",
            hint="strip NUL characters; PostgreSQL text cannot hold them",
        )


def check_metadata(metadata: object, where: str) -> Metadata:
    """Return a normalised copy of ``metadata`` or raise naming the bad key."""
    if not isinstance(metadata, dict):
        raise InvalidInputError(
            f"{where}.metadata must be a dict, got {type(metadata).__name__} {NOTHING_WRITTEN}"
        )
    out: Metadata = {}
    for key, value in metadata.items():
        path = f"{where}.metadata[{key!r}]"
        if not isinstance(key, str) or not key or key.startswith("$") or "\x00" in key:
            raise InvalidInputError(
                f"{path}: metadata keys must be non-empty strings that do not start with '$' "
                f"and hold no NUL character {NOTHING_WRITTEN}",
                hint="'$' starts filter operators, so such a key could never be filtered on",
            )
        if isinstance(value, bool):
            out[key] = value
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                raise InvalidInputError(
                    f"{path}: integer {value} does not fit in 64 bits {NOTHING_WRITTEN}",
                    hint="store it as a string or a float",
                )
            out[key] = value
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidInputError(
                    f"{path} is {value!r}; metadata floats must be finite {NOTHING_WRITTEN}"
                )
            out[key] = 0.0 if value == 0 else value
        elif isinstance(value, str):
            if "\x00" in value:
                raise InvalidInputError(f"{path} contains a NUL character {NOTHING_WRITTEN}")
            out[key] = value
        else:
            raise InvalidInputError(
                f"{path} is a {type(value).__name__}; metadata values must be str, int, float "
                f"or bool {NOTHING_WRITTEN}",
                hint="flatten nested values into several keys, or serialise them to a string",
            )
    return out


def _as_vector(values: object, what: str) -> np.ndarray[Any, Any]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise InvalidInputError(
            f"{what} must be a sequence of floats, got {type(values).__name__} {NOTHING_WRITTEN}"
        )
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{what} must contain only numbers ({exc}) {NOTHING_WRITTEN}"
        ) from exc
    if raw.dtype.kind not in "iuf":
        raise InvalidInputError(
            f"{what} must contain only numbers, got {raw.dtype.kind!r}-kind values such as "
            f"{raw.flat[0]!r} {NOTHING_WRITTEN}" if raw.size else
            f"{what} must be a non-empty sequence of floats {NOTHING_WRITTEN}"
        )
    if raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and raw.size and (
            np.abs(raw).max() > np.finfo(np.float32).max):
        raise InvalidInputError(
            f"{what} holds {np.abs(raw).max():g}, beyond float32's range "
            f"(±{np.finfo(np.float32).max:g}) {NOTHING_WRITTEN}",
            hint="embeddings are stored as float32; rescale the vector",
        )
    vector = raw.astype(np.float32)
    if vector.ndim != 1 or vector.shape[0] == 0:
        raise InvalidInputError(
            f"{what} must be a flat, non-empty sequence of floats, got shape {vector.shape} "
            f"{NOTHING_WRITTEN}"
        )
    return vector
