"""What the HTTP embedders share: one async client, batching, retries with backoff.

A request is retried on 429, on any 5xx and on connection errors and timeouts, up to
``max_retries`` times, waiting ``base_delay * 2**attempt`` seconds (with jitter, capped at
``max_delay``) or what a ``Retry-After`` header asks for. Any other 4xx fails at once with
an error that says what to fix. Vectors are checked (count, dimension, finite, non-zero)
and L2-normalised, so every embedder hands the store the same kind of vector.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from agent_brain.errors import (
    AgentBrainError,
    BackendUnavailableError,
    ConfigError,
    DimensionMismatchError,
)

RETRY_STATUS = frozenset({429}) | frozenset(range(500, 600))


class EmbeddingServiceError(AgentBrainError):
    """The embedding service answered, but not with embeddings (bad request, bad reply)."""


class HttpEmbedder:
    """Base of the OpenAI-compatible and Ollama embedders. Subclasses build the request
    body and parse the reply; this class does everything else."""

    service = "embedding service"

    def __init__(
        self,
        *,
        model: str,
        dimension: int,
        url: str,
        headers: dict[str, str] | None = None,
        batch_size: int = 32,
        timeout: float = 30.0,
        max_retries: int = 3,
        base_delay: float = 0.5,
        max_delay: float = 20.0,
        transport: Any = None,
    ) -> None:
        self._model = model
        self._dimension = dimension
        self._url = url
        self._headers = dict(headers or {})
        self._batch_size = max(1, batch_size)
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._transport = transport
        self.requests = 0
        """How many HTTP requests were sent (retries included); for tests and reports."""

    @property
    def model_id(self) -> str:
        return self._model

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def url(self) -> str:
        return self._url

    def _body(self, texts: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def _parse(self, payload: Any, count: int) -> list[list[float]]:
        raise NotImplementedError

    async def embed(self, texts: Sequence[str], kind: str = "document") -> list[list[float]]:
        if not texts:
            return []
        import httpx

        out: list[list[float]] = []
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            for start in range(0, len(texts), self._batch_size):
                batch = list(texts[start:start + self._batch_size])
                payload = await self._post(client, self._body(batch))
                out.extend(self._check(self._parse(payload, len(batch)), len(batch)))
        return out

    async def _post(self, client: Any, body: dict[str, Any]) -> Any:
        import httpx

        attempt = 0
        while True:
            self.requests += 1
            try:
                response = await client.post(self._url, json=body, headers=self._headers)
            except httpx.TransportError as exc:  # connect/read errors and timeouts
                if attempt >= self._max_retries:
                    raise BackendUnavailableError(
                        f"{self.service} at {self._url} is unreachable after "
                        f"{attempt + 1} attempt(s): {type(exc).__name__}: {exc}".rstrip(": "),
                        hint="check embedding.base_url and that the service is running; "
                        "embedding.timeout and embedding.max_retries tune the patience",
                    ) from exc
                await asyncio.sleep(self._delay(attempt, None))
                attempt += 1
                continue
            if response.status_code < 400:
                try:
                    return response.json()
                except ValueError as exc:
                    raise EmbeddingServiceError(
                        f"{self.service} at {self._url} answered with invalid JSON",
                        hint="check that embedding.base_url points at the embedding API",
                    ) from exc
            if response.status_code in RETRY_STATUS and attempt < self._max_retries:
                await asyncio.sleep(self._delay(attempt, response.headers.get("retry-after")))
                attempt += 1
                continue
            raise self._http_error(response.status_code, _detail(response), attempt + 1)

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(self._max_delay, max(0.0, float(retry_after)))
            except ValueError:
                pass
        delay: float = self._base_delay * (2 ** attempt)
        return min(self._max_delay, delay * (0.5 + random.random() / 2))

    def _http_error(self, status: int, detail: str, attempts: int) -> AgentBrainError:
        where = f"{self.service} at {self._url} answered HTTP {status}"
        detail = f": {detail}" if detail else ""
        if status in RETRY_STATUS:
            return BackendUnavailableError(
                f"{where}{detail} (gave up after {attempts} attempt(s))",
                hint="the service is overloaded or failing; retry later or raise "
                "embedding.max_retries",
            )
        if status in (401, 403):
            return ConfigError(f"{where}{detail}", hint=self._auth_hint())
        if status == 404:
            return ConfigError(
                f"{where}{detail}",
                hint=f"check embedding.base_url and that the model {self._model!r} exists "
                "on the service",
            )
        return EmbeddingServiceError(
            f"{where}{detail}",
            hint=f"check embedding.model ({self._model!r}) and the service's logs",
        )

    def _auth_hint(self) -> str:
        return "check the API key"

    def _check(self, vectors: list[list[float]], count: int) -> list[list[float]]:
        if len(vectors) != count:
            raise EmbeddingServiceError(
                f"{self.service} returned {len(vectors)} embeddings for {count} texts"
            )
        out: list[list[float]] = []
        for vector in vectors:
            if len(vector) != self._dimension:
                raise DimensionMismatchError(
                    f"{self.service} model {self._model!r} returned {len(vector)}-dimensional "
                    f"vectors; embedding.dimension is {self._dimension}",
                    hint=f"set embedding.dimension: {len(vector)} (for a new store), or pick "
                    "the model the store was built with",
                )
            array = np.asarray(vector, dtype=np.float64)
            norm = float(np.linalg.norm(array))
            if not math.isfinite(norm) or norm == 0.0:
                raise EmbeddingServiceError(
                    f"{self.service} returned a zero or non-finite vector",
                    hint="check the model and the input text",
                )
            normalized: list[float] = (array / norm).astype(np.float32).tolist()
            out.append(normalized)
        return out


def _detail(response: Any) -> str:
    try:
        payload = response.json()
    except ValueError:
        text = str(response.text).strip()
        return text[:200]
    if isinstance(payload, dict):
        error = payload.get("error", payload.get("detail", payload.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            return str(error)[:200]
    return str(payload)[:200]


def reply_error(service: str, what: str) -> EmbeddingServiceError:
    return EmbeddingServiceError(
        f"{service} reply has no {what}",
        hint="check that embedding.base_url points at the embedding API and embedding.provider "
        "matches the service",
    )
