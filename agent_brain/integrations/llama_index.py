"""LlamaIndex vector store over any Agent Brain backend (``pip install 'agent-brain[llamaindex]'``).

::

    store = AgentBrainVectorStore.from_config(load_config("agent-brain.yaml"), namespace="docs")
    index = VectorStoreIndex.from_documents(
        documents, storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed_model)
    index.as_retriever(vector_store_query_mode="hybrid", alpha=0.5).retrieve("...")
    store.close()

**Nodes.** A node becomes a :class:`~agent_brain.Chunk`: ``id`` = ``node_id``, ``text`` =
its content, ``embedding`` = its embedding (a node without one is stored and found by
keyword search only), ``metadata`` = its metadata plus ``ref_doc_id`` / ``doc_id`` /
``document_id`` (so ``delete(ref_doc_id)`` works) and the serialized node
(``_node_content``, ``_node_type``), so relationships and settings come back intact.
Metadata values must be ``str``, ``int``, ``float`` or ``bool``; ``None`` values are not
stored as keys (they round-trip inside the node); lists and dicts are refused (flatten
them). Chunks written by other tools (``agent-brain ingest``) come back as ``TextNode`` s.

**Queries.** ``VectorStoreQueryMode.DEFAULT`` (vector), ``TEXT_SEARCH`` (BM25), ``HYBRID``
(:class:`~agent_brain.HybridSearcher` with weighted fusion; ``alpha`` as LlamaIndex defines
it: 1 is pure vector, 0 pure keyword, ``None`` the configured default; ``hybrid_top_k``
results from legs ``max(similarity_top_k, sparse_top_k)`` deep when it is given) and
``MMR``. Similarities are Agent Brain scores: in [0, 1], higher is better (vector:
``(1 + cosine) / 2``). ``doc_ids`` restrict any mode; a non-empty ``node_ids`` only
``DEFAULT`` (an empty one, which ``VectorIndexRetriever`` passes, means no restriction).
``MetadataFilters`` are translated as :mod:`agent_brain.integrations._llama_filters`
tabulates; ``vector_store_kwargs={"agent_brain_filters": {...}}`` adds a filter in Agent
Brain's own language.

**Event loops.** See :mod:`agent_brain.integrations._runtime`: every backend call runs on
one loop for the store's lifetime (a private background loop unless ``loop=`` names yours),
so the sync methods work with or without a running loop and the async ones never block it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.indices.query.embedding_utils import get_top_k_mmr_embeddings
from llama_index.core.schema import BaseNode, MetadataMode, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict

from agent_brain.config import AgentBrainConfig, SearchSettings
from agent_brain.embedders import Embedder, load_embedder
from agent_brain.errors import InvalidInputError
from agent_brain.hybrid import HybridSearcher
from agent_brain.integrations._common import (
    backend_from_config,
    mmr_candidates,
    rank_by_cosine,
)
from agent_brain.integrations._llama_filters import combine, translate_filters
from agent_brain.integrations._runtime import BackendRunner, RunnerLifecycle, run_sync
from agent_brain.protocol import StorageBackendProtocol
from agent_brain.types import Chunk, Metadata, SearchResult
from agent_brain.validation import check_namespace

__all__ = ["AgentBrainEmbedding", "AgentBrainVectorStore"]

_SUPPORTED_MODES = (
    VectorStoreQueryMode.DEFAULT,
    VectorStoreQueryMode.TEXT_SEARCH,
    VectorStoreQueryMode.HYBRID,
    VectorStoreQueryMode.MMR,
)
_MMR_PREFETCH_FACTOR = 4
_DEFAULT_MMR_THRESHOLD = 0.5


class AgentBrainVectorStore(RunnerLifecycle, BasePydanticVectorStore):
    """A LlamaIndex vector store backed by an Agent Brain backend (see the module docs).

    Build it with :meth:`from_config` (the store creates, opens and closes the backend) or
    ``AgentBrainVectorStore(backend=..., namespace=...)`` (the backend is yours: the store
    opens it on first use if it is not open, and then closes only what it opened). Pass
    ``loop=`` when the backend is already open on your own running event loop.
    """

    stores_text: bool = True
    flat_metadata: bool = True
    namespace: str = "default"

    _runner: BackendRunner = PrivateAttr()
    _search: SearchSettings = PrivateAttr()

    def __init__(
        self,
        backend: StorageBackendProtocol,
        namespace: str = "default",
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        search: SearchSettings | None = None,
        **kwargs: Any,
    ) -> None:
        owned = bool(kwargs.pop("_owned", False))
        check_namespace(namespace)
        super().__init__(namespace=namespace, **kwargs)
        self._runner = BackendRunner(backend, owned=owned, namespace=namespace, loop=loop,
                                     name=f"agent-brain-llamaindex-{namespace}")
        self._search = search if search is not None else SearchSettings()
        weakref.finalize(self, self._runner.finalize)

    @classmethod
    def from_config(
        cls,
        config: AgentBrainConfig,
        namespace: str = "default",
        *,
        embed_model: BaseEmbedding | None = None,
    ) -> AgentBrainVectorStore:
        """A store over the backend ``config`` names, owned (opened and closed) by the store;
        hybrid queries use ``config.search``.

        The store records the embedding model of its vectors: ``embed_model``'s when it is
        an :class:`AgentBrainEmbedding`; ``config.embedding.model`` as written for another
        embed model (describe it there); without ``embed_model``, the id of the embedder
        ``config.embedding`` describes, as ``agent-brain ingest`` records it.
        """
        embedder = embed_model.embedder if isinstance(embed_model, AgentBrainEmbedding) else None
        backend, search = backend_from_config(config, namespace, embedder,
                                              foreign=embed_model is not None)
        return cls(backend=backend, namespace=namespace, search=search, _owned=True)

    @classmethod
    def class_name(cls) -> str:
        return "AgentBrainVectorStore"

    @property
    def client(self) -> StorageBackendProtocol:
        """The backend (call it only from the store's loop; prefer the store's methods)."""
        return self._runner.backend

    # ------------------------------------------------------------------ writes
    def add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        chunks = [_to_chunk(node, i) for i, node in enumerate(nodes)]
        ns = self.namespace
        self._runner.call(lambda b: b.upsert(chunks, ns))
        return [c.id for c in chunks]

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        chunks = [_to_chunk(node, i) for i, node in enumerate(nodes)]
        ns = self.namespace
        await self._runner.acall(lambda b: b.upsert(chunks, ns))
        return [c.id for c in chunks]

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of the source document ``ref_doc_id``."""
        ns, where = self.namespace, {"ref_doc_id": ref_doc_id}
        self._runner.call(lambda b: b.delete(None, ns, where))

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        ns, where = self.namespace, {"ref_doc_id": ref_doc_id}
        await self._runner.acall(lambda b: b.delete(None, ns, where))

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete the nodes with these ids, those matching ``filters``, or the ids that
        match. Neither is refused (use :meth:`clear`)."""
        ids, where = _delete_args(node_ids, filters, delete_kwargs)
        ns = self.namespace
        self._runner.call(lambda b: b.delete(ids, ns, where))

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        ids, where = _delete_args(node_ids, filters, delete_kwargs)
        ns = self.namespace
        await self._runner.acall(lambda b: b.delete(ids, ns, where))

    def clear(self) -> None:
        """Remove every node of this store's namespace (other namespaces are untouched)."""
        ns = self.namespace
        self._runner.call(lambda b: b.reset(ns))

    async def aclear(self) -> None:
        ns = self.namespace
        await self._runner.acall(lambda b: b.reset(ns))

    # ------------------------------------------------------------------ reads
    def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        """Nodes by id (in that order, missing ones skipped), those matching ``filters``, or
        all of the namespace's nodes (ordered by id) when neither is given."""
        ns, where = self.namespace, translate_filters(filters)
        chunks = self._runner.call(lambda b: b.get(node_ids, ns, where))
        return [_to_node(c) for c in chunks]

    async def aget_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        ns, where = self.namespace, translate_filters(filters)
        chunks = await self._runner.acall(lambda b: b.get(node_ids, ns, where))
        return [_to_node(c) for c in chunks]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        plan = self._plan(query, kwargs)
        results = self._runner.call(plan.run)
        return plan.result(results)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        plan = self._plan(query, kwargs)
        results = await self._runner.acall(plan.run)
        return plan.result(results)

    def _plan(self, query: VectorStoreQuery, kwargs: dict[str, Any]) -> _QueryPlan:
        mode = VectorStoreQueryMode(query.mode)
        if mode not in _SUPPORTED_MODES:
            raise InvalidInputError(
                f"query mode {mode.value!r} is not supported by AgentBrainVectorStore",
                hint="use one of: " + ", ".join(m.value for m in _SUPPORTED_MODES),
            )
        filters = combine(
            translate_filters(query.filters),
            {"ref_doc_id": {"$in": list(query.doc_ids)}} if query.doc_ids is not None else None,
            kwargs.get("agent_brain_filters"),
        )
        if query.node_ids and mode != VectorStoreQueryMode.DEFAULT:
            raise InvalidInputError(
                f"node_ids can restrict only DEFAULT (vector) queries, not {mode.value!r}",
                hint="restrict by doc_ids or metadata filters instead",
            )
        return _QueryPlan(self.namespace, self._search, query, mode, filters, kwargs)

    # ------------------------------------------------------------------ lifecycle
    def persist(self, persist_path: str, fs: Any = None) -> None:
        """Nothing to do: every write is already durable in the backend."""



class _QueryPlan:
    """One validated query, run on the backend's loop, turned into a LlamaIndex result."""

    def __init__(self, namespace: str, search: SearchSettings, query: VectorStoreQuery,
                 mode: VectorStoreQueryMode, filters: dict[str, Any] | None,
                 kwargs: dict[str, Any]) -> None:
        self.namespace, self.search, self.query = namespace, search, query
        self.mode, self.filters, self.kwargs = mode, filters, kwargs

    async def run(self, backend: StorageBackendProtocol) -> list[SearchResult]:
        q, ns, where = self.query, self.namespace, self.filters
        top_k = q.similarity_top_k
        if self.mode == VectorStoreQueryMode.TEXT_SEARCH:
            return await backend.keyword_search(_need_text(q), top_k, ns, where)
        embedding = _need_embedding(q)
        if self.mode == VectorStoreQueryMode.HYBRID:
            depth = None
            if q.hybrid_top_k is not None:
                top_k = q.hybrid_top_k
                depth = max(q.similarity_top_k, q.sparse_top_k or q.similarity_top_k)
            searcher = HybridSearcher(backend, self.search)
            return await searcher.search(
                _need_text(q), embedding, top_k, mode="hybrid", fusion="weighted",
                alpha=q.alpha, namespace=ns, filters=where, candidates=depth)
        if self.mode == VectorStoreQueryMode.MMR:
            return await self._mmr(backend, embedding)
        if q.node_ids:  # VectorIndexRetriever passes [] for stores that keep text
            chunks = await backend.get(q.node_ids, ns, where)
            return rank_by_cosine(chunks, embedding, top_k)
        return await backend.vector_search(embedding, top_k, ns, where)

    async def _mmr(self, backend: StorageBackendProtocol,
                   embedding: list[float]) -> list[SearchResult]:
        q = self.query
        factor = float(self.kwargs.get("mmr_prefetch_factor", _MMR_PREFETCH_FACTOR))
        fetch_k = self.kwargs.get("mmr_prefetch_k") or max(
            q.similarity_top_k, int(q.similarity_top_k * factor))
        pool = await mmr_candidates(backend, embedding, fetch_k, self.namespace, self.filters)
        if not pool:
            return []
        threshold = q.mmr_threshold if q.mmr_threshold is not None else _DEFAULT_MMR_THRESHOLD
        _, chosen = get_top_k_mmr_embeddings(
            embedding, [c.embedding for c in pool], similarity_top_k=q.similarity_top_k,
            embedding_ids=list(range(len(pool))), mmr_threshold=threshold)
        return [pool[i].result for i in chosen]

    def result(self, results: list[SearchResult]) -> VectorStoreQueryResult:
        return VectorStoreQueryResult(
            nodes=[_to_node(Chunk(r.id, r.text, None, r.metadata)) for r in results],
            similarities=[r.score for r in results],
            ids=[r.id for r in results],
        )


def _need_text(query: VectorStoreQuery) -> str:
    if query.query_str is None:
        raise InvalidInputError(f"{VectorStoreQueryMode(query.mode).value!r} queries need "
                                "query_str")
    return query.query_str


def _need_embedding(query: VectorStoreQuery) -> list[float]:
    if query.query_embedding is None:
        raise InvalidInputError(
            f"{VectorStoreQueryMode(query.mode).value!r} queries need query_embedding",
            hint="give the index or retriever an embed_model, or use TEXT_SEARCH mode",
        )
    return list(query.query_embedding)


def _delete_args(
    node_ids: list[str] | None, filters: MetadataFilters | None, kwargs: dict[str, Any]
) -> tuple[list[str] | None, dict[str, Any] | None]:
    where = combine(translate_filters(filters), kwargs.get("agent_brain_filters"))
    if node_ids is None and where is None:
        raise InvalidInputError(
            "delete_nodes() needs node_ids, filters, or both",
            hint="to remove every node of the namespace call clear()",
        )
    return (list(node_ids) if node_ids is not None else None), where


# ---------------------------------------------------------------------- node <-> chunk
def _to_chunk(node: BaseNode, index: int) -> Chunk:
    stored = node_to_metadata_dict(node, remove_text=True, flat_metadata=False)
    metadata: Metadata = {}
    for key, value in stored.items():
        if value is None:
            continue  # not a key here; kept inside _node_content
        if isinstance(value, str | int | float | bool):
            metadata[key] = value
            continue
        raise InvalidInputError(
            f"nodes[{index}] ({node.node_id!r}): metadata[{key!r}] is a "
            f"{type(value).__name__}; Agent Brain metadata values are str, int, float or "
            "bool (nothing was written)",
            hint="flatten it (e.g. join a list into a string) or drop the key before "
            "indexing",
        )
    embedding = node.embedding
    return Chunk(
        id=node.node_id,
        text=node.get_content(metadata_mode=MetadataMode.NONE),
        embedding=list(embedding) if embedding is not None else None,
        metadata=metadata,
    )


def _to_node(chunk: Chunk) -> BaseNode:
    metadata = dict(chunk.metadata)
    node: BaseNode
    if isinstance(metadata.get("_node_content"), str):
        node = metadata_dict_to_node(metadata, text=chunk.text)
    else:  # written by another tool: a plain text node
        node = TextNode(id_=chunk.id, text=chunk.text, metadata=metadata)
    node.embedding = list(chunk.embedding) if chunk.embedding is not None else None
    return node


# ---------------------------------------------------------------------- embeddings
class AgentBrainEmbedding(BaseEmbedding):
    """A LlamaIndex embed model over an Agent Brain embedder (the one the CLI uses for the
    same configuration), so that nodes indexed here and chunks ingested with
    ``agent-brain ingest`` share one vector space."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        kwargs.setdefault("model_name", embedder.model_id)
        super().__init__(**kwargs)
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    @classmethod
    def from_config(cls, config: AgentBrainConfig, **kwargs: Any) -> AgentBrainEmbedding:
        """The embedder ``config.embedding`` describes (``provider: hash`` needs nothing)."""
        return cls(load_embedder(config.embedding), **kwargs)

    @classmethod
    def class_name(cls) -> str:
        return "AgentBrainEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return run_sync(self._embedder.embed([query], kind="query"))[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return (await self._embedder.embed([query], kind="query"))[0]

    def _get_text_embedding(self, text: str) -> list[float]:
        return run_sync(self._embedder.embed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return run_sync(self._embedder.embed(texts))

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._embedder.embed([text]))[0]

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await self._embedder.embed(texts)
