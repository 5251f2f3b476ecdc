"""A deterministic, offline embedder: signed feature hashing of BM25 terms and bigrams.

It needs no model and no download, so the zero-config path works on a machine without
network. It captures lexical overlap only (no synonyms); use sentence-transformers for
semantic search (``pip install 'agent-brain[embeddings]'``).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence

import numpy as np

from agent_brain.embedders.base import EmbeddingKind
from agent_brain.keyword.analyzer import Analyzer


class HashingEmbedder:
    """Bag of hashed terms (and adjacent-term bigrams), sublinear tf, L2-normalised."""

    def __init__(self, dimension: int = 384) -> None:
        if dimension < 8:
            raise ValueError(f"dimension must be >= 8, got {dimension}")
        self._dimension = dimension
        self._analyzer = Analyzer("english")

    @staticmethod
    def model_id_for(dimension: int) -> str:
        return f"agent-brain/hashing-v1-{dimension}"

    @property
    def model_id(self) -> str:
        return self.model_id_for(self._dimension)

    @property
    def dimension(self) -> int:
        return self._dimension

    async def embed(
        self, texts: Sequence[str], kind: EmbeddingKind = "document"
    ) -> list[list[float]]:
        return [self.embed_one(text) for text in texts]

    def embed_one(self, text: str) -> list[float]:
        vector = np.zeros(self._dimension, dtype=np.float64)
        terms = self._analyzer.terms(text)
        features = terms + [f"{a} {b}" for a, b in itertools.pairwise(terms)]
        for feature in features:
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            index = value % self._dimension
            sign = 1.0 if (value >> 63) & 1 else -1.0
            vector[index] += sign * (0.5 if " " in feature else 1.0)
        np.copysign(np.log1p(np.abs(vector)), vector, out=vector)
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:  # no indexable term: a fixed direction keeps the vector valid
            vector[0] = 1.0
            norm = 1.0
        out: list[float] = (vector / norm).astype(np.float32).tolist()
        return out
