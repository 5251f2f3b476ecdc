"""The embedded references: chromadb used directly, and two in-process BM25 libraries.

* ``chromadb`` ``PersistentClient``: ``add`` in batches of ``get_max_batch_size()``,
  ``upsert``, ``query``; the collection uses Agent Brain's default HNSW settings (cosine,
  M 16, ef_construction 100, ef_search 200) so that both answer at equal ``ef_search``. Its
  "hybrid" is chromadb's top 100 plus bm25s' top 100 fused by RRF (k 60) in Python (the
  bm25s index is built after the load, untimed).
* ``bm25s``: its own tokenizer (English stop words, PyStemmer's English stemmer), ``index``,
  ``retrieve`` with one thread; its "upsert" is a full re-index (it has no incremental one).
* ``rank_bm25`` ``BM25Okapi`` over Agent Brain's analyzer's terms (so it ranks exactly as
  Agent Brain does); a query is ``get_scores`` plus a partial sort. Its "upsert" is the
  reference for BM25 upkeep: rebuild ``BM25Okapi`` over every (already tokenized) document.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.data import Dataset
from benchmarks.systems.base import System

K1, B = 1.2, 0.5
"""Agent Brain's default BM25 parameters, used by both references."""


def _chroma_client(folder: Path) -> Any:
    import chromadb
    from chromadb.config import Settings

    shutil.rmtree(folder, ignore_errors=True)
    return chromadb.PersistentClient(path=str(folder),
                                     settings=Settings(anonymized_telemetry=False))


def _bm25s_tokens(texts: list[str]) -> Any:
    import bm25s
    import Stemmer

    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"),
                          show_progress=False)


def _bm25s_index(texts: list[str]) -> Any:
    import bm25s

    retriever = bm25s.BM25(k1=K1, b=B)
    retriever.index(_bm25s_tokens(texts), show_progress=False)
    return retriever


def _bm25s_top(retriever: Any, text: str, k: int) -> list[int]:
    k = min(k, int(retriever.scores["num_docs"]))
    docs, scores = retriever.retrieve(_bm25s_tokens([text]), k=k, show_progress=False,
                                      n_threads=1)
    return [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


class ChromaRaw(System):
    name = "chroma_raw"
    label = "chromadb PersistentClient (add / upsert / query)"
    family = "chroma"
    kinds = ("vector", "hybrid")
    sync_queries = True

    async def open(self) -> None:
        self.folder = self.workdir / "chroma-raw"
        self.client = _chroma_client(self.folder)
        self.bm25: dict[str, Any] = {}

    def _collection(self, table: str, create: bool = False) -> Any:
        if create:
            return self.client.create_collection(
                table, embedding_function=None,
                configuration={"hnsw": {"space": "cosine", "ef_construction": 100,
                                        "ef_search": 200, "max_neighbors": 16}})
        return self.client.get_collection(table, embedding_function=None)

    async def load(self, data: Dataset, table: str) -> dict[str, Any]:
        start = time.perf_counter()
        collection = self._collection(table, create=True)
        step = int(self.client.get_max_batch_size())
        for s in range(0, data.n, step):
            collection.add(ids=data.ids[s:s + step], embeddings=data.vectors[s:s + step],
                           documents=data.texts[s:s + step], metadatas=data.metadata[s:s + step])
        return {"seconds": time.perf_counter() - start}

    async def prepare(self, data: Dataset, table: str) -> None:
        self.bm25[table] = _bm25s_index(data.texts)

    async def upsert(self, data: Dataset, table: str, batch: int) -> dict[str, Any]:
        ids, texts, vectors, metadata = data.upserts[batch]
        collection = self._collection(table)
        start = time.perf_counter()
        collection.upsert(ids=ids, embeddings=vectors, documents=texts, metadatas=metadata)
        return {"seconds": time.perf_counter() - start}

    async def drop(self, table: str) -> None:
        self.client.delete_collection(table)

    async def size(self, table: str) -> int | None:
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())

    def query(self, data: Dataset, table: str, kind: str, ef: int | None) -> Any:
        collection = self._collection(table)
        vectors, texts, ids = data.query_vectors, data.query_texts, data.ids

        def vector(i: int, n: int = 10) -> list[str]:
            got = collection.query(query_embeddings=vectors[i:i + 1], n_results=n,
                                   include=["documents", "metadatas", "distances"])
            return list(got["ids"][0])

        def hybrid(i: int) -> list[str]:
            scores: dict[str, float] = {}
            keyword = [ids[d] for d in _bm25s_top(self.bm25[table], texts[i], 100)]
            for leg in (vector(i, 100), keyword):
                for rank, doc_id in enumerate(leg, start=1):
                    scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (60 + rank)
            return sorted(scores, key=lambda d: (-scores[d], d))[:10]

        return {"vector": vector, "hybrid": hybrid}[kind]


class BM25S(System):
    name = "bm25s"
    label = "bm25s (in-process, its own tokenizer)"
    family = "keyword"
    kinds = ("keyword",)
    sync_queries = True

    async def open(self) -> None:
        self.indexes: dict[str, Any] = {}
        self.corpora: dict[str, list[str]] = {}

    async def load(self, data: Dataset, table: str) -> dict[str, Any]:
        start = time.perf_counter()
        self.indexes[table] = _bm25s_index(data.texts)
        self.corpora[table] = list(data.texts)
        return {"seconds": time.perf_counter() - start}

    async def upsert(self, data: Dataset, table: str, batch: int) -> dict[str, Any]:
        _, texts, _, _ = data.upserts[batch]
        corpus = self.corpora[table] + list(texts)
        start = time.perf_counter()
        self.indexes[table] = _bm25s_index(corpus)
        seconds = time.perf_counter() - start
        self.corpora[table] = corpus
        return {"seconds": seconds}

    async def drop(self, table: str) -> None:
        self.indexes.pop(table, None)
        self.corpora.pop(table, None)

    def query(self, data: Dataset, table: str, kind: str, ef: int | None) -> Any:
        retriever, ids = self.indexes[table], data.ids

        def keyword(i: int) -> list[str]:
            return [ids[d] for d in _bm25s_top(retriever, data.query_texts[i], 10)]

        return keyword


class RankBM25(System):
    name = "rank_bm25"
    label = "rank_bm25 BM25Okapi (over Agent Brain's analyzer)"
    family = "keyword"
    kinds = ("keyword",)
    sync_queries = True

    async def open(self) -> None:
        from agent_brain.keyword import Analyzer

        self.analyzer = Analyzer()
        self.indexes: dict[str, Any] = {}
        self.tokens: dict[str, list[list[str]]] = {}

    async def load(self, data: Dataset, table: str) -> dict[str, Any]:
        from rank_bm25 import BM25Okapi

        start = time.perf_counter()
        tokens = self.analyzer.terms_many(data.texts)
        self.indexes[table] = BM25Okapi(tokens, k1=K1, b=B)
        self.tokens[table] = tokens
        return {"seconds": time.perf_counter() - start}

    async def upsert(self, data: Dataset, table: str, batch: int) -> dict[str, Any]:
        """Append the batch's terms and rebuild: the "rebuild after every batch" reference
        (tokenizing only the new batch, as an incremental tokenizer cache would)."""
        from rank_bm25 import BM25Okapi

        _, texts, _, _ = data.upserts[batch]
        start = time.perf_counter()
        tokens = self.tokens[table] + self.analyzer.terms_many(texts)
        self.indexes[table] = BM25Okapi(tokens, k1=K1, b=B)
        seconds = time.perf_counter() - start
        self.tokens[table] = tokens
        return {"seconds": seconds}

    async def drop(self, table: str) -> None:
        self.indexes.pop(table, None)
        self.tokens.pop(table, None)

    def query(self, data: Dataset, table: str, kind: str, ef: int | None) -> Any:
        index, ids = self.indexes[table], data.ids

        def keyword(i: int) -> list[str]:
            scores = index.get_scores(self.analyzer.terms(data.query_texts[i]))
            top = np.argpartition(-scores, 10)[:10]
            top = top[np.argsort(-scores[top], kind="stable")]
            return [ids[j] for j in top.tolist() if scores[j] > 0]

        return keyword
