"""Embeddings from an Ollama server's ``/api/embed`` endpoint (batch input).

``embedding.base_url`` is the server (default ``http://localhost:11434``); the model must be
pulled first (``ollama pull nomic-embed-text``) and ``embedding.dimension`` must match it.
"""

from __future__ import annotations

from typing import Any

from agent_brain.config import EmbeddingSettings
from agent_brain.embedders.http import HttpEmbedder, reply_error
from agent_brain.errors import AgentBrainError

DEFAULT_BASE_URL = "http://localhost:11434"


def embed_url(base_url: str | None) -> str:
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    return base.removesuffix("/api") + "/api/embed"


class OllamaEmbedder(HttpEmbedder):
    service = "Ollama"

    def __init__(self, settings: EmbeddingSettings, **kwargs: Any) -> None:
        super().__init__(
            model=settings.model,
            dimension=settings.dimension,
            url=embed_url(settings.base_url),
            batch_size=settings.batch_size,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            **kwargs,
        )

    def _body(self, texts: list[str]) -> dict[str, Any]:
        return {"model": self._model, "input": texts}

    def _parse(self, payload: Any, count: int) -> list[list[float]]:
        vectors = payload.get("embeddings") if isinstance(payload, dict) else None
        if not isinstance(vectors, list) or not all(isinstance(v, list) for v in vectors):
            raise reply_error(self.service, "'embeddings' list")
        return [list(map(float, v)) for v in vectors]

    def _http_error(self, status: int, detail: str, attempts: int) -> AgentBrainError:
        error = super()._http_error(status, detail, attempts)
        if status == 404 or "not found" in detail.lower():
            error.hint = f"pull the model first: ollama pull {self._model}"
        return error
