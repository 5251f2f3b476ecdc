"""LangChain vector store over any Agent Brain backend (``pip install 'agent-brain[langchain]'``).

::

    store = AgentBrainVectorStore.from_config(config, embedding=embeddings, namespace="docs")
    store.add_documents(documents)
    store.similarity_search("query", k=4, filter={"year": {"$gte": 2020}})
    store.hybrid_search("query", k=4, alpha=0.5)
    store.as_retriever(search_kwargs={"k": 4, "mode": "hybrid"})
    store.close()

**Documents.** A document becomes a :class:`~agent_brain.Chunk`: ``id`` = ``Document.id``
(or the ``ids=`` given, else a new UUID), ``text`` = ``page_content``, ``embedding`` from the
store's ``embedding``, ``metadata`` as given (values ``str``, ``int``, ``float``, ``bool``;
anything else is refused before anything is written). Adding an existing id replaces that
document entirely.

**Scores.** ``similarity_search_with_score`` returns Agent Brain's score, a *relevance* in
[0, 1] where higher is better: ``(1 + cosine) / 2`` for vector search, the normalized BM25
score for ``mode="keyword"``, the fused score for hybrid search. It is already what
``similarity_search_with_relevance_scores`` wants, so the relevance function is the identity
and ``score_threshold`` works on it directly (``0.5`` is "orthogonal to the query").

**Filters.** ``filter=`` takes Agent Brain's filter language (Mongo-style dicts:
``{"k": v}``, ``$eq $ne $gt $gte $lt $lte $in $nin $exists``, ``$and $or $not``), answered
identically by every backend.

**Search modes.** ``similarity_search`` and its twins take ``mode="vector"`` (default),
``"keyword"`` (BM25) or ``"hybrid"`` (with ``alpha``: 1 pure vector, 0 pure keyword, and
``fusion``: ``"weighted"`` or ``"rrf"``), so ``as_retriever(search_kwargs={"mode":
"hybrid"})`` retrieves hybrid; :meth:`AgentBrainVectorStore.hybrid_search` says it plainly.

**Event loops.** As for the LlamaIndex store (:mod:`agent_brain.integrations._runtime`): one
loop per backend for the store's lifetime, sync methods work with or without a running
loop, async methods never block the caller's loop.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from agent_brain.config import AgentBrainConfig, SearchSettings, load_config
from agent_brain.embedders import Embedder, load_embedder
from agent_brain.errors import InvalidInputError
from agent_brain.hybrid import HybridSearcher
from agent_brain.integrations._common import backend_from_config, mmr_candidates
from agent_brain.integrations._runtime import BackendRunner, RunnerLifecycle, run_sync
from agent_brain.protocol import Filters, StorageBackendProtocol
from agent_brain.types import Chunk, SearchResult
from agent_brain.validation import check_namespace

__all__ = ["AgentBrainEmbeddings", "AgentBrainVectorStore"]

SearchMode = Literal["vector", "keyword", "hybrid"]
_MODES: dict[str, SearchMode] = {"vector": "vector", "keyword": "keyword", "hybrid": "hybrid"}


class AgentBrainVectorStore(RunnerLifecycle, VectorStore):
    """A LangChain vector store backed by an Agent Brain backend (see the module docs).

    Build it with :meth:`from_config` (the store creates, opens and closes the backend) or
    ``AgentBrainVectorStore(backend=..., embedding=..., namespace=...)`` (the backend is
    yours: the store opens it on first use if it is not open, and then closes only what it
    opened). Pass ``loop=`` when the backend is already open on your own running loop.
    The store's ``embedding.dimension`` must match the embeddings' size.
    """

    def __init__(
        self,
        backend: StorageBackendProtocol,
        embedding: Embeddings,
        namespace: str = "default",
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        search: SearchSettings | None = None,
        _owned: bool = False,
    ) -> None:
        self.namespace = check_namespace(namespace)
        self._embedding = embedding
        self._search = search if search is not None else SearchSettings()
        self._runner = BackendRunner(backend, owned=_owned, namespace=namespace, loop=loop,
                                     name=f"agent-brain-langchain-{namespace}")
        weakref.finalize(self, self._runner.finalize)

    @classmethod
    def from_config(
        cls, config: AgentBrainConfig, embedding: Embeddings, namespace: str = "default"
    ) -> AgentBrainVectorStore:
        """A store over the backend ``config`` names, owned (opened and closed) by the store;
        hybrid search uses ``config.search``.

        The store records the embedding model of its vectors: ``embedding``'s when it is an
        :class:`AgentBrainEmbeddings` (as ``agent-brain ingest`` records it), else
        ``config.embedding.model`` as written (describe your embeddings there).
        """
        embedder = embedding.embedder if isinstance(embedding, AgentBrainEmbeddings) else None
        backend, search = backend_from_config(config, namespace, embedder, foreign=True)
        return cls(backend, embedding, namespace, search=search, _owned=True)

    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    @property
    def backend(self) -> StorageBackendProtocol:
        """The backend (call it only from the store's loop; prefer the store's methods)."""
        return self._runner.backend

    # ------------------------------------------------------------------ writes
    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts = list(texts)
        vectors = self._embedding.embed_documents(texts) if texts else []
        chunks = _chunks(texts, vectors, metadatas, ids)
        ns = self.namespace
        self._runner.call(lambda b: b.upsert(chunks, ns))
        return [c.id for c in chunks]

    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts = list(texts)
        vectors = await self._embedding.aembed_documents(texts) if texts else []
        chunks = _chunks(texts, vectors, metadatas, ids)
        ns = self.namespace
        await self._runner.acall(lambda b: b.upsert(chunks, ns))
        return [c.id for c in chunks]

    def delete(
        self, ids: list[str] | None = None, *, filter: Filters | None = None, **kwargs: Any
    ) -> bool:
        """Delete by ids, by ``filter``, or the ids that match it. Neither is refused (an
        :class:`~agent_brain.errors.InvalidInputError`; use :meth:`clear`); missing ids are
        not an error."""
        _check_delete(ids, filter)
        ns = self.namespace
        self._runner.call(lambda b: b.delete(ids, ns, filter))
        return True

    async def adelete(
        self, ids: list[str] | None = None, *, filter: Filters | None = None, **kwargs: Any
    ) -> bool:
        _check_delete(ids, filter)
        ns = self.namespace
        await self._runner.acall(lambda b: b.delete(ids, ns, filter))
        return True

    def clear(self) -> None:
        """Remove every document of this store's namespace (other namespaces untouched)."""
        ns = self.namespace
        self._runner.call(lambda b: b.reset(ns))

    async def aclear(self) -> None:
        ns = self.namespace
        await self._runner.acall(lambda b: b.reset(ns))

    # ------------------------------------------------------------------ reads
    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Documents by id, in the order of ``ids``; missing ids are skipped."""
        wanted, ns = list(ids), self.namespace
        chunks = self._runner.call(lambda b: b.get(wanted, ns, include_embeddings=False))
        return [_document(c.id, c.text, c.metadata) for c in chunks]

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        wanted, ns = list(ids), self.namespace
        chunks = await self._runner.acall(lambda b: b.get(wanted, ns, include_embeddings=False))
        return [_document(c.id, c.text, c.metadata) for c in chunks]

    def similarity_search(
        self, query: str, k: int = 4, filter: Filters | None = None, **kwargs: Any
    ) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    async def asimilarity_search(
        self, query: str, k: int = 4, filter: Filters | None = None, **kwargs: Any
    ) -> list[Document]:
        pairs = await self.asimilarity_search_with_score(query, k, filter, **kwargs)
        return [doc for doc, _ in pairs]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: Filters | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """``(document, score)`` pairs, best first; the score is a relevance in [0, 1]
        (higher is better; see the module docs). ``mode``, ``alpha`` and ``fusion`` choose
        keyword or hybrid search instead of vector search."""
        mode = _mode(kwargs)
        vector = None if mode == "keyword" else self._embedding.embed_query(query)
        search = self._searcher(query, vector, k, filter, mode, kwargs)
        return _pairs(self._runner.call(search))

    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, filter: Filters | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        mode = _mode(kwargs)
        vector = None if mode == "keyword" else await self._embedding.aembed_query(query)
        search = self._searcher(query, vector, k, filter, mode, kwargs)
        return _pairs(await self._runner.acall(search))

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: Filters | None = None, **kwargs: Any
    ) -> list[Document]:
        pairs = self.similarity_search_with_score_by_vector(embedding, k, filter)
        return [doc for doc, _ in pairs]

    async def asimilarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: Filters | None = None, **kwargs: Any
    ) -> list[Document]:
        pairs = await self.asimilarity_search_with_score_by_vector(embedding, k, filter)
        return [doc for doc, _ in pairs]

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, filter: Filters | None = None
    ) -> list[tuple[Document, float]]:
        ns = self.namespace
        return _pairs(self._runner.call(lambda b: b.vector_search(embedding, k, ns, filter)))

    async def asimilarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, filter: Filters | None = None
    ) -> list[tuple[Document, float]]:
        ns = self.namespace
        return _pairs(await self._runner.acall(
            lambda b: b.vector_search(embedding, k, ns, filter)))

    def hybrid_search(
        self, query: str, k: int = 4, alpha: float | None = None,
        fusion: Literal["weighted", "rrf"] | None = None, filter: Filters | None = None,
    ) -> list[Document]:
        """BM25 and vector search fused (:class:`~agent_brain.HybridSearcher`); ``alpha``
        weighs the vector side (1 pure vector, 0 pure keyword); ``None`` arguments take the
        configured defaults."""
        pairs = self.hybrid_search_with_score(query, k, alpha, fusion, filter)
        return [doc for doc, _ in pairs]

    async def ahybrid_search(
        self, query: str, k: int = 4, alpha: float | None = None,
        fusion: Literal["weighted", "rrf"] | None = None, filter: Filters | None = None,
    ) -> list[Document]:
        pairs = await self.ahybrid_search_with_score(query, k, alpha, fusion, filter)
        return [doc for doc, _ in pairs]

    def hybrid_search_with_score(
        self, query: str, k: int = 4, alpha: float | None = None,
        fusion: Literal["weighted", "rrf"] | None = None, filter: Filters | None = None,
    ) -> list[tuple[Document, float]]:
        return self.similarity_search_with_score(query, k, filter, mode="hybrid",
                                                 alpha=alpha, fusion=fusion)

    async def ahybrid_search_with_score(
        self, query: str, k: int = 4, alpha: float | None = None,
        fusion: Literal["weighted", "rrf"] | None = None, filter: Filters | None = None,
    ) -> list[tuple[Document, float]]:
        return await self.asimilarity_search_with_score(query, k, filter, mode="hybrid",
                                                        alpha=alpha, fusion=fusion)

    def max_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
        filter: Filters | None = None, **kwargs: Any,
    ) -> list[Document]:
        return self.max_marginal_relevance_search_by_vector(
            self._embedding.embed_query(query), k, fetch_k, lambda_mult, filter)

    async def amax_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
        filter: Filters | None = None, **kwargs: Any,
    ) -> list[Document]:
        return await self.amax_marginal_relevance_search_by_vector(
            await self._embedding.aembed_query(query), k, fetch_k, lambda_mult, filter)

    def max_marginal_relevance_search_by_vector(
        self, embedding: list[float], k: int = 4, fetch_k: int = 20,
        lambda_mult: float = 0.5, filter: Filters | None = None, **kwargs: Any,
    ) -> list[Document]:
        """The ``fetch_k`` nearest documents re-ranked for diversity; ``k`` of them."""
        ns = self.namespace
        pool = self._runner.call(
            lambda b: mmr_candidates(b, embedding, max(k, fetch_k), ns, filter))
        return _mmr(embedding, pool, k, lambda_mult)

    async def amax_marginal_relevance_search_by_vector(
        self, embedding: list[float], k: int = 4, fetch_k: int = 20,
        lambda_mult: float = 0.5, filter: Filters | None = None, **kwargs: Any,
    ) -> list[Document]:
        ns = self.namespace
        pool = await self._runner.acall(
            lambda b: mmr_candidates(b, embedding, max(k, fetch_k), ns, filter))
        return _mmr(embedding, pool, k, lambda_mult)

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """Scores already are relevances in [0, 1] (see the module docs)."""
        return _identity

    def _searcher(
        self, query: str, vector: list[float] | None, k: int, filter: Filters | None,
        mode: SearchMode, kwargs: dict[str, Any],
    ) -> Callable[[StorageBackendProtocol], Any]:
        ns, settings = self.namespace, self._search
        alpha, fusion = kwargs.get("alpha"), kwargs.get("fusion")

        async def search(backend: StorageBackendProtocol) -> list[SearchResult]:
            searcher = HybridSearcher(backend, settings)
            return await searcher.search(query, vector, k, mode=mode, fusion=fusion,
                                         alpha=alpha, namespace=ns, filters=filter)

        return search

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        config: AgentBrainConfig | None = None,
        backend: StorageBackendProtocol | None = None,
        namespace: str = "default",
        **kwargs: Any,
    ) -> AgentBrainVectorStore:
        """A store holding ``texts``: over ``backend`` if given, else over the backend
        ``config`` names (default: :func:`~agent_brain.load_config`'s defaults and
        environment), which the store then owns."""
        store = cls._build(embedding, config, backend, namespace)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    async def afrom_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        config: AgentBrainConfig | None = None,
        backend: StorageBackendProtocol | None = None,
        namespace: str = "default",
        **kwargs: Any,
    ) -> AgentBrainVectorStore:
        store = cls._build(embedding, config, backend, namespace)
        await store.aadd_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    def _build(cls, embedding: Embeddings, config: AgentBrainConfig | None,
               backend: StorageBackendProtocol | None, namespace: str) -> AgentBrainVectorStore:
        if backend is not None:
            return cls(backend, embedding, namespace)
        return cls.from_config(config if config is not None else load_config(), embedding,
                               namespace)

    # ------------------------------------------------------------------ lifecycle


def _identity(score: float) -> float:
    return score


def _mode(kwargs: dict[str, Any]) -> SearchMode:
    mode = kwargs.get("mode") or "vector"
    found = _MODES.get(mode) if isinstance(mode, str) else None
    if found is not None:
        return found
    raise InvalidInputError(f"mode must be one of {', '.join(_MODES)}, got {mode!r}")


def _check_delete(ids: list[str] | None, filter: Filters | None) -> None:
    if ids is None and not filter:
        raise InvalidInputError(
            "delete() needs ids, filter, or both",
            hint="to remove every document of the namespace call clear()",
        )


def _chunks(
    texts: list[str],
    vectors: list[list[float]],
    metadatas: list[dict[str, Any]] | None,
    ids: list[str] | None,
) -> list[Chunk]:
    for what, values in (("metadatas", metadatas), ("ids", ids)):
        if values is not None and len(values) != len(texts):
            raise InvalidInputError(
                f"{len(texts)} texts but {len(values)} {what} (nothing was written)")
    chunks = []
    for i, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
        chunk_id = ids[i] if ids is not None and ids[i] else str(uuid.uuid4())
        metadata = dict(metadatas[i]) if metadatas is not None and metadatas[i] else {}
        chunks.append(Chunk(chunk_id, text, list(vector), metadata))
    return chunks


def _document(doc_id: str, text: str, metadata: dict[str, Any]) -> Document:
    return Document(id=doc_id, page_content=text, metadata=dict(metadata))


def _pairs(results: list[SearchResult]) -> list[tuple[Document, float]]:
    return [(_document(r.id, r.text, r.metadata), r.score) for r in results]


def _mmr(embedding: list[float], pool: Sequence[Any], k: int,
         lambda_mult: float) -> list[Document]:
    if not pool:
        return []
    chosen = maximal_marginal_relevance(
        np.array(embedding, dtype=np.float32), [c.embedding for c in pool],
        lambda_mult=lambda_mult, k=k)
    return [_document(pool[i].result.id, pool[i].result.text, pool[i].result.metadata)
            for i in chosen]


class AgentBrainEmbeddings(Embeddings):
    """LangChain embeddings over an Agent Brain embedder (the one the CLI uses for the same
    configuration), so documents added here and chunks ingested with ``agent-brain ingest``
    share one vector space."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    @classmethod
    def from_config(cls, config: AgentBrainConfig) -> AgentBrainEmbeddings:
        """The embedder ``config.embedding`` describes (``provider: hash`` needs nothing)."""
        return cls(load_embedder(config.embedding))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return run_sync(self.embedder.embed(texts)) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return run_sync(self.embedder.embed([text], kind="query"))[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return await self.embedder.embed(texts) if texts else []

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.embedder.embed([text], kind="query"))[0]
