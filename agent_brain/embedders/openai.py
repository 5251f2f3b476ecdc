"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM,
LM Studio, llama.cpp server, text-embeddings-inference, LiteLLM...).

``embedding.base_url`` follows the OpenAI SDK convention and includes the version segment
(default ``https://api.openai.com/v1``); the request goes to ``{base_url}/embeddings``. A
bare host (``http://localhost:8000``) is taken to mean ``http://localhost:8000/v1``. The
API key is read from the environment variable named by ``embedding.api_key_env``; it is
required by the default endpoint and optional for a self-hosted one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from agent_brain.config import EmbeddingSettings
from agent_brain.embedders.http import HttpEmbedder, reply_error
from agent_brain.errors import ConfigError

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def embeddings_url(base_url: str | None) -> str:
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    if urlsplit(base).path in ("", "/"):
        base += "/v1"
    return base + "/embeddings"


class OpenAIEmbedder(HttpEmbedder):
    service = "OpenAI-compatible embedding service"

    def __init__(
        self,
        settings: EmbeddingSettings,
        *,
        environ: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        env = os.environ if environ is None else environ
        self._key_env = settings.api_key_env
        key = env.get(settings.api_key_env) if settings.api_key_env else None
        if not key and settings.base_url is None:
            raise ConfigError(
                f"embedding.provider 'openai' needs an API key in ${settings.api_key_env}"
                if settings.api_key_env
                else "embedding.provider 'openai' needs embedding.api_key_env",
                hint=f"export {settings.api_key_env or 'OPENAI_API_KEY'}=..., or set "
                "embedding.base_url to a self-hosted OpenAI-compatible server",
            )
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        super().__init__(
            model=settings.model,
            dimension=settings.dimension,
            url=embeddings_url(settings.base_url),
            headers=headers,
            batch_size=settings.batch_size,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            **kwargs,
        )

    def _body(self, texts: list[str]) -> dict[str, Any]:
        return {"model": self._model, "input": texts, "encoding_format": "float"}

    def _parse(self, payload: Any, count: int) -> list[list[float]]:
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise reply_error(self.service, "'data' list")
        rows = sorted(
            (item for item in data if isinstance(item, dict)),
            key=lambda item: int(item.get("index", 0)),
        )
        vectors = [row.get("embedding") for row in rows]
        if not all(isinstance(v, list) for v in vectors):
            raise reply_error(self.service, "'embedding' list in every item (encoding_format "
                              "must be float)")
        return [list(map(float, v)) for v in vectors if isinstance(v, list)]

    def _auth_hint(self) -> str:
        return (f"check the API key in ${self._key_env}" if self._key_env
                else "set embedding.api_key_env to the variable holding the API key")
