"""Hybrid search above the backend boundary: both legs concurrently, then one fusion."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from agent_brain.config import SearchSettings
from agent_brain.errors import InvalidInputError
from agent_brain.filters import parse_filter
from agent_brain.fusion import Fused, Hit, reciprocal_rank_fusion, weighted_fusion
from agent_brain.protocol import Filters, StorageBackendProtocol
from agent_brain.types import Metadata, SearchResult
from agent_brain.validation import check_top_k

if TYPE_CHECKING:
    from agent_brain.embedders import Embedder

Mode = Literal["vector", "keyword", "hybrid"]
Fusion = Literal["rrf", "weighted"]
MODES: tuple[str, ...] = ("vector", "keyword", "hybrid")
FUSIONS: tuple[str, ...] = ("rrf", "weighted")

Fuse = Callable[[Sequence[Hit], Sequence[Hit]], list[Fused]]
"""Vector hits, keyword hits -> fused ranking (best first)."""


class HybridSearcher:
    """Vector, keyword or fused search over any :class:`StorageBackendProtocol`.

    ``None`` arguments take the tuned defaults of ``settings`` (``search:`` in the YAML; see
    docs/quality.md for how they were tuned). With an ``embedder``, ``query_embedding`` may
    be omitted and is computed from ``query_text``.

    A backend may offer ``fused_search(embedding, text, depth, top_k, namespace, filters,
    fuse)``: it must return exactly :func:`assemble` over its own ``vector_search`` and
    ``keyword_search`` legs at ``depth`` (the contract suite checks this), or ``None`` to
    let the searcher run the legs itself. The embedded Chroma backend uses it to read texts
    for the fused ``top_k`` only.
    """

    def __init__(
        self,
        backend: StorageBackendProtocol,
        settings: SearchSettings | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.backend = backend
        self.settings = settings if settings is not None else SearchSettings()
        self.embedder = embedder

    async def search(
        self,
        query_text: str | None,
        query_embedding: Sequence[float] | None = None,
        top_k: int = 10,
        mode: Mode | None = None,
        fusion: Fusion | None = None,
        rrf_k: float | None = None,
        alpha: float | None = None,
        namespace: str = "default",
        filters: Filters | None = None,
        candidates: int | None = None,
    ) -> list[SearchResult]:
        """Search in ``mode``; hybrid runs both legs concurrently, ``candidates`` deep each,
        and fuses them with ``fusion`` (``rrf`` with ``rrf_k``, or ``weighted`` where ``alpha``
        weighs the vector side: 1 is pure vector, 0 pure keyword)."""
        s = self.settings
        mode = s.mode if mode is None else mode
        fusion = s.fusion if fusion is None else fusion
        rrf_k = s.rrf_k if rrf_k is None else rrf_k
        alpha = s.alpha if alpha is None else alpha
        depth = s.candidates if candidates is None else candidates
        self._check(mode, fusion, rrf_k, alpha, depth)
        check_top_k(top_k, self.backend.capabilities.max_top_k)
        parse_filter(filters)  # fail fast, before either leg runs

        if mode == "keyword":
            return await self.backend.keyword_search(
                self._text(query_text, mode), top_k, namespace, filters
            )
        embedding = await self._embedding(query_text, query_embedding, mode)
        if mode == "vector":
            return await self.backend.vector_search(embedding, top_k, namespace, filters)

        depth = max(depth, top_k)
        text = self._text(query_text, mode)
        fuse = self._fuser(fusion, rrf_k, alpha)
        # A backend may run both legs and the fusion itself (``fused_search``, same
        # arguments, same answer), to fetch texts for the fused top_k only rather than for
        # 2 x ``depth`` candidates; ``None`` means "not here, do it generically".
        hook = getattr(self.backend, "fused_search", None)
        if hook is not None:
            done: list[SearchResult] | None = await hook(
                embedding, text, depth, top_k, namespace, filters, fuse)
            if done is not None:
                return done
        vector, keyword = await asyncio.gather(
            self.backend.vector_search(embedding, depth, namespace, filters),
            self.backend.keyword_search(text, depth, namespace, filters),
        )
        texts = {r.id: r.text for r in (*keyword, *vector)}
        metadata = {r.id: r.metadata for r in (*keyword, *vector)}
        return assemble(_hits(vector, "vector"), _hits(keyword, "keyword"), fuse, top_k,
                        texts, metadata)

    def _fuser(self, fusion: str, rrf_k: float, alpha: float) -> Fuse:
        normalization = self.settings.normalization
        if fusion == "rrf":
            return lambda vector, keyword: reciprocal_rank_fusion((vector, keyword), rrf_k)
        return lambda vector, keyword: weighted_fusion(vector, keyword, alpha, normalization)

    @staticmethod
    def _check(mode: str, fusion: str, rrf_k: float, alpha: float, depth: int) -> None:
        if mode not in MODES:
            raise InvalidInputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if fusion not in FUSIONS:
            raise InvalidInputError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
        if (isinstance(rrf_k, bool) or not isinstance(rrf_k, int | float)
                or not math.isfinite(rrf_k) or not rrf_k > 0):
            raise InvalidInputError(f"rrf_k must be a number > 0, got {rrf_k!r}",
                                    hint="60 is the customary value")
        if (isinstance(alpha, bool) or not isinstance(alpha, int | float)
                or not 0 <= alpha <= 1):
            raise InvalidInputError(
                f"alpha must be within [0, 1], got {alpha!r}",
                hint="alpha weighs the vector side: 1 is pure vector, 0 pure keyword",
            )
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise InvalidInputError(f"candidates must be an integer >= 1, got {depth!r}")

    @staticmethod
    def _text(query_text: str | None, mode: str) -> str:
        if query_text is None:
            raise InvalidInputError(f"{mode} search needs query_text")
        return query_text

    async def _embedding(
        self, query_text: str | None, query_embedding: Sequence[float] | None, mode: str
    ) -> Sequence[float]:
        if query_embedding is not None:
            return query_embedding
        if self.embedder is not None and query_text is not None:
            vectors = await self.embedder.embed([query_text], kind="query")
            return vectors[0]
        raise InvalidInputError(
            f"{mode} search needs query_embedding",
            hint="pass query_embedding=..., or build HybridSearcher(backend, embedder=...)",
        )


def _hits(results: Sequence[SearchResult], leg: Literal["vector", "keyword"]) -> list[Hit]:
    hits = []
    for r in results:
        score = r.vector_score if leg == "vector" else r.keyword_score
        rank = r.vector_rank if leg == "vector" else r.keyword_rank
        hits.append(Hit(r.id, rank if rank is not None else r.rank,
                        score if score is not None else r.score))
    return hits


def assemble(
    vector: Sequence[Hit],
    keyword: Sequence[Hit],
    fuse: Fuse | list[Fused],
    top_k: int,
    texts: Mapping[str, str],
    metadata: Mapping[str, Metadata],
) -> list[SearchResult]:
    """Hybrid results with each leg's evidence; ``fuse`` is the fusion, or its result
    already computed. ``texts`` and ``metadata`` cover at least the fused top_k."""
    fused = fuse if isinstance(fuse, list) else fuse(vector, keyword)
    by_id_vector = {h.id: h for h in vector}
    by_id_keyword = {h.id: h for h in keyword}
    results: list[SearchResult] = []
    for rank, item in enumerate(fused[:top_k], start=1):
        v, k = by_id_vector.get(item.id), by_id_keyword.get(item.id)
        results.append(SearchResult(
            id=item.id,
            text=texts[item.id],
            metadata=metadata[item.id],
            score=min(1.0, max(0.0, item.score)),
            rank=rank,
            vector_score=v.score if v else None,
            keyword_score=k.score if k else None,
            vector_rank=v.rank if v else None,
            keyword_rank=k.rank if k else None,
        ))
    return results
