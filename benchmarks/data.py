"""Benchmark data: a synthetic English-like corpus with clustered 384-d embeddings, and the
SciFact corpus with its precomputed embeddings.

Synthetic corpus (deterministic for a given size and seed):

* **Text.** A vocabulary of 30,000 pseudo-words (2–4 syllables each) ranked by a Zipf law
  (exponent 1.05, as word frequencies in English), English stop words making ~30% of the
  tokens, sentences of 8–20 words with a capital letter and a full stop, 60–180 tokens per
  chunk. Every chunk belongs to one of 200 topics; 15% of its content words come from its
  topic's own 120 mid-frequency words, so that keyword and vector neighbours overlap as in
  real text.
* **Embeddings.** Not isotropic noise (the worst case for any HNSW index, unlike real
  embeddings): each topic is a Gaussian centre in a 32-dimensional latent space; a chunk is
  its topic's centre plus latent noise (σ 0.6), projected to 384 dimensions by one fixed random
  matrix, plus a little isotropic noise, then L2-normalised. Text embeddings have this shape:
  low intrinsic dimension, neighbours meaningfully closer than the rest.
* **Queries.** 3–8 words: about half from a topic's words, the rest from the global Zipf law
  with a flatter exponent (0.8: queries hold fewer very common words than text) and now and then
  a stop word; the query vector is a fresh draw from the same topic (so it is near the data
  but never a stored point).
* **Upsert batches.** Batch ``r`` holds 1,000 chunks: 500 new ids and 500 that replace existing
  chunks (new text and vector), drawn from a pool generated beyond the first ``n``.

SciFact (``../shared/data/scifact``): the 5,183 abstracts as ``title + " " + text``, their
float16 all-MiniLM-L6-v2 embeddings cast to float32, and the 300 test queries with theirs.
"""

from __future__ import annotations

import gzip
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
TOPICS = 200
LATENT = 32
VOCABULARY = 30_000
TOPIC_WORDS = 120
UPSERT_BATCH = 1_000
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "da", "go", "fu", "zi", "be",
              "mo", "ha", "ri", "tu", "le", "ni", "xo", "qua", "ster", "ion", "ment", "al", "or",
              "ex", "tri", "pan", "cel", "gen", "pro", "neu", "dor", "sen"]
_STOP = ["the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with",
         "be", "by", "on", "not", "this", "are", "at", "from", "or", "an", "which", "have"]


@dataclass
class Dataset:
    """A corpus, its queries, and (synthetic only) the upsert batches."""

    name: str
    ids: list[str]
    texts: list[str]
    vectors: np.ndarray[Any, Any]
    """float32, (n, 384), unit length."""
    metadata: list[dict[str, Any]]
    query_texts: list[str]
    query_vectors: np.ndarray[Any, Any]
    upserts: list[tuple[list[str], list[str], np.ndarray[Any, Any], list[dict[str, Any]]]] = (
        field(default_factory=list))
    """Per repetition: ids, texts, vectors, metadata of one 1k-chunk batch."""
    qrels: dict[int, set[str]] = field(default_factory=dict)
    """Query index → relevant ids (SciFact only)."""

    @property
    def n(self) -> int:
        return len(self.ids)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.pkl"
        with path.open("wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    @staticmethod
    def load(path: Path) -> Dataset:
        with path.open("rb") as f:
            data: Dataset = pickle.load(f)
        return data


def _vocabulary(rng: np.random.Generator) -> list[str]:
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(_SYLLABLES, int(rng.integers(2, 5)))))
    ordered = sorted(words)
    rng.shuffle(ordered)
    return ordered


def _zipf(size: int, exponent: float) -> np.ndarray[Any, Any]:
    p = 1.0 / np.arange(1, size + 1) ** exponent
    return p / p.sum()


class _Generator:
    def __init__(self, seed: int = 42) -> None:
        rng = np.random.default_rng(seed)
        self.vocab = np.array(_vocabulary(rng), dtype=object)
        self.p_text = _zipf(VOCABULARY, 1.05)
        self.p_query = _zipf(VOCABULARY, 0.8)
        # each topic's own words: mid-frequency ranks
        self.topic_words = rng.integers(300, 20_000, (TOPICS, TOPIC_WORDS))
        self.centres = rng.standard_normal((TOPICS, LATENT))
        self.projection = rng.standard_normal((DIM, LATENT)).astype(np.float32)

    def vectors(self, topics: np.ndarray[Any, Any], rng: np.random.Generator
                ) -> np.ndarray[Any, Any]:
        n = topics.size
        z = self.centres[topics] + 0.6 * rng.standard_normal((n, LATENT))
        x = z.astype(np.float32) @ self.projection.T
        x += np.float32(0.1 * np.sqrt(LATENT)) * rng.standard_normal((n, DIM)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32)

    def texts(self, topics: np.ndarray[Any, Any], rng: np.random.Generator) -> list[str]:
        n = topics.size
        lengths = rng.integers(60, 181, n)
        total = int(lengths.sum())
        words = rng.choice(VOCABULARY, total, p=self.p_text)
        topical = rng.random(total) < 0.15
        owner = np.repeat(np.arange(n), lengths)
        picks = self.topic_words[topics[owner], rng.integers(0, TOPIC_WORDS, total)]
        words = np.where(topical, picks, words)
        stop = rng.random(total) < 0.3
        stop_words = rng.integers(0, len(_STOP), total)
        sentence_end = rng.random(total) < 1 / 14
        tokens = np.where(stop, np.array(_STOP, dtype=object)[stop_words], self.vocab[words])
        out: list[str] = []
        start = 0
        for length in lengths.tolist():
            parts: list[str] = []
            capital = True
            for i in range(start, start + length):
                token = tokens[i]
                if capital:
                    token = token.capitalize()
                    capital = False
                if sentence_end[i] or i == start + length - 1:
                    token += "."
                    capital = True
                elif i % 23 == 0:
                    token += ","
                parts.append(token)
            out.append(" ".join(parts))
            start += length
        return out

    def queries(self, n: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray[Any, Any]]:
        topics = rng.integers(0, TOPICS, n)
        texts = []
        for topic in topics.tolist():
            k = int(rng.integers(3, 9))
            words = []
            for _ in range(k):
                r = rng.random()
                if r < 0.5:
                    words.append(self.vocab[self.topic_words[topic, rng.integers(0, TOPIC_WORDS)]])
                elif r < 0.9:
                    words.append(self.vocab[rng.choice(VOCABULARY, p=self.p_query)])
                else:
                    words.append(_STOP[int(rng.integers(0, len(_STOP)))])
            texts.append(" ".join(words))
        return texts, self.vectors(topics, rng)


def synthetic(n: int, queries: int, upsert_batches: int, seed: int = 42) -> Dataset:
    """``n`` chunks, ``queries`` queries and ``upsert_batches`` 1k-chunk upsert batches."""
    gen = _Generator(seed)
    rng = np.random.default_rng(seed + n)
    extra = upsert_batches * UPSERT_BATCH
    topics = rng.integers(0, TOPICS, n + extra)
    vectors = gen.vectors(topics, rng)
    texts = gen.texts(topics, rng)
    ids = [f"d{i:07d}" for i in range(n)]
    metadata = [{"bucket": i % 100, "group": f"g{i % 10}"} for i in range(n + extra)]
    query_texts, query_vectors = gen.queries(queries, rng)
    batches = []
    replaced = rng.choice(n, size=min(n, upsert_batches * UPSERT_BATCH // 2), replace=False)
    half = UPSERT_BATCH // 2
    for r in range(upsert_batches):
        lo = n + r * UPSERT_BATCH
        batch_ids = [ids[i] for i in replaced[r * half:(r + 1) * half].tolist()]
        batch_ids += [f"d{n + r * half + j:07d}" for j in range(UPSERT_BATCH - len(batch_ids))]
        batches.append((batch_ids, texts[lo:lo + UPSERT_BATCH], vectors[lo:lo + UPSERT_BATCH],
                        metadata[lo:lo + UPSERT_BATCH]))
    return Dataset(f"synthetic-{n}", ids, texts[:n], np.ascontiguousarray(vectors[:n]),
                   metadata[:n], query_texts, query_vectors, batches)


def scifact(folder: Path) -> Dataset:
    """The SciFact corpus, embeddings, test queries and qrels."""
    with gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    ids = [str(d["_id"] if "_id" in d else d["id"]) for d in docs]
    texts = [(d.get("title", "") + " " + d["text"]).strip() for d in docs]
    vectors = np.load(folder / "corpus_emb.npy").astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    order = (folder / "ids_corpus.txt").read_text().split()
    assert order == ids, "corpus_emb.npy rows must follow corpus order"
    queries = [json.loads(line) for line in (folder / "queries.jsonl").open(encoding="utf-8")]
    qvectors = np.load(folder / "query_emb.npy").astype(np.float32)
    qvectors /= np.linalg.norm(qvectors, axis=1, keepdims=True)
    qids = [str(q["id"] if "id" in q else q["_id"]) for q in queries]
    assert (folder / "ids_queries.txt").read_text().split() == qids
    relevant: dict[str, set[str]] = {}
    for line in (folder / "qrels.tsv").read_text().splitlines()[1:]:
        q, d, score = line.split("\t")
        if int(score) > 0:
            relevant.setdefault(q, set()).add(d)
    qrels = {i: relevant.get(q, set()) for i, q in enumerate(qids)}
    metadata = [{"bucket": i % 100} for i in range(len(ids))]
    return Dataset("scifact", ids, texts, vectors, metadata, [q["text"] for q in queries],
                   qvectors, [], qrels)


def exact_top(vectors: np.ndarray[Any, Any], queries: np.ndarray[Any, Any], k: int = 10
              ) -> np.ndarray[Any, Any]:
    """Row indices of the exact cosine top-``k`` of each query (vectors are unit length)."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 64):
        sims = queries[start:start + 64] @ vectors.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        rows = np.take_along_axis(sims, part, axis=1)
        out[start:start + 64] = np.take_along_axis(part, np.argsort(-rows, axis=1), axis=1)
    return out
