"""Pieces both framework adapters share: building a backend, and MMR candidates."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from agent_brain.config import AgentBrainConfig, SearchSettings
from agent_brain.embedders import Embedder
from agent_brain.errors import InvalidInputError
from agent_brain.factory import create_backend
from agent_brain.protocol import Filters, StorageBackendProtocol
from agent_brain.types import Chunk, SearchResult
from agent_brain.validation import check_namespace


@dataclass(frozen=True, slots=True)
class Candidate:
    """A vector hit with its embedding, for maximal marginal relevance."""

    result: SearchResult
    embedding: list[float]


def backend_from_config(
    config: AgentBrainConfig,
    namespace: str,
    embedder: Embedder | None = None,
    *,
    foreign: bool = False,
) -> tuple[StorageBackendProtocol, SearchSettings]:
    """The backend ``config`` names, opened with the embedding model the store should record:

    - ``embedder`` (an Agent Brain embedder, wrapped for the framework): its ``model_id`` and
      dimension, as ``agent-brain ingest`` records them;
    - ``foreign`` (the framework's own embedding class): ``config.embedding`` as written,
      which must then describe that model;
    - neither: the CLI's rule, the id of the embedder ``config.embedding`` describes (``hash``:
      ``agent-brain/hashing-v1-<dim>``), so one YAML file serves the CLI and the adapters.
    """
    check_namespace(namespace)
    if embedder is not None:
        effective = config.model_copy(deep=True)
        effective.embedding.model = embedder.model_id
        effective.embedding.dimension = embedder.dimension
    elif foreign:  # the framework's own embedding class computes the vectors
        effective = config.model_copy(deep=True)
        effective.embedding.provider = "none"
    else:
        from agent_brain.embedders.resolve import store_config

        effective = store_config(config)
    return create_backend(effective), config.search


async def mmr_candidates(
    backend: StorageBackendProtocol,
    embedding: Sequence[float],
    fetch_k: int,
    namespace: str,
    filters: Filters | None,
) -> list[Candidate]:
    """The ``fetch_k`` nearest chunks, each with its stored embedding."""
    hits = await backend.vector_search(embedding, fetch_k, namespace, filters)
    if not hits:
        return []
    chunks = await backend.get([h.id for h in hits], namespace, include_embeddings=True)
    vectors = {c.id: c.embedding for c in chunks}
    out = []
    for hit in hits:
        vector = vectors.get(hit.id)
        if vector is not None:  # deleted in between: skip it
            out.append(Candidate(hit, [float(x) for x in vector]))
    return out


def rank_by_cosine(
    chunks: Sequence[Chunk], embedding: Sequence[float], top_k: int
) -> list[SearchResult]:
    """Exact vector search over a few chunks already in hand, scored as the backends score
    (``(1 + cosine) / 2``, ties by id)."""
    query_norm = math.sqrt(sum(x * x for x in embedding))
    if query_norm == 0.0:
        raise InvalidInputError("the query embedding is all zeros; it has no direction")
    scored: list[tuple[float, Chunk]] = []
    for chunk in chunks:
        if chunk.embedding is None:
            continue
        norm = math.sqrt(sum(x * x for x in chunk.embedding))
        if len(chunk.embedding) != len(embedding) or norm == 0.0:
            continue
        cosine = sum(a * b for a, b in zip(chunk.embedding, embedding, strict=True))
        score = min(1.0, max(0.0, (1.0 + cosine / (norm * query_norm)) / 2.0))
        scored.append((score, chunk))
    scored.sort(key=lambda pair: (-pair[0], pair[1].id))
    return [
        SearchResult(id=c.id, text=c.text, metadata=dict(c.metadata), score=s, rank=rank,
                     vector_score=s, vector_rank=rank)
        for rank, (s, c) in enumerate(scored[:top_k], start=1)
    ]
