"""OpenAI-compatible and Ollama embedders against a scripted loopback server: batching,
auth, normalisation, retries with backoff, and the errors users see."""

from __future__ import annotations

import math
import socket
from typing import Any

import pytest

from agent_brain.config import EmbeddingSettings
from agent_brain.embedders import load_embedder
from agent_brain.embedders.http import EmbeddingServiceError
from agent_brain.embedders.ollama import OllamaEmbedder, embed_url
from agent_brain.embedders.openai import OpenAIEmbedder, embeddings_url
from agent_brain.errors import BackendUnavailableError, ConfigError, DimensionMismatchError
from tests.embedders.stub_server import Reply, stub_server

FAST = {"base_delay": 0.001, "max_delay": 0.01}


def _vector(text: str, dimension: int = 4) -> list[float]:
    return [float(len(text) + i) for i in range(dimension)]  # not normalised on purpose


def openai_ok(request: dict[str, Any], number: int) -> Reply:
    texts = request["body"]["input"]
    data = [{"object": "embedding", "index": i, "embedding": _vector(t)}
            for i, t in reversed(list(enumerate(texts)))]  # out of order: sorted by index
    return 200, {"object": "list", "data": data, "model": request["body"]["model"]}, {}


def ollama_ok(request: dict[str, Any], number: int) -> Reply:
    return 200, {"model": request["body"]["model"],
                 "embeddings": [_vector(t) for t in request["body"]["input"]]}, {}


def _settings(url: str, **extra: Any) -> EmbeddingSettings:
    values: dict[str, Any] = {"model": "test-model", "dimension": 4, "batch_size": 2,
                              "base_url": url, "max_retries": 2, "timeout": 5.0}
    values.update(extra)
    return EmbeddingSettings(**values)


def _unit(vector: list[float]) -> bool:
    return math.isclose(math.sqrt(sum(x * x for x in vector)), 1.0, rel_tol=1e-6)


async def test_openai_batches_authenticates_and_normalises() -> None:
    with stub_server(openai_ok) as stub:
        embedder = OpenAIEmbedder(_settings(stub.url + "/v1", api_key_env="TEST_KEY"),
                                  environ={"TEST_KEY": "sk-test"}, **FAST)
        texts = ["a", "bb", "ccc", "dddd", "eeeee"]
        vectors = await embedder.embed(texts)
    assert len(vectors) == 5
    assert all(_unit(v) for v in vectors)
    expected = _vector("ccc")
    norm = math.sqrt(sum(x * x for x in expected))
    assert vectors[2] == pytest.approx([x / norm for x in expected], rel=1e-6)
    assert [len(r["body"]["input"]) for r in stub.requests] == [2, 2, 1]
    assert {r["path"] for r in stub.requests} == {"/v1/embeddings"}
    assert stub.requests[0]["headers"]["Authorization"] == "Bearer sk-test"
    assert stub.requests[0]["body"]["model"] == "test-model"
    assert embedder.model_id == "test-model"
    assert embedder.dimension == 4


async def test_openai_retries_after_503_and_429() -> None:
    def flaky(request: dict[str, Any], number: int) -> Reply:
        if number == 0:
            return 503, {"error": {"message": "overloaded"}}, {}
        if number == 1:
            return 429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}
        return openai_ok(request, number)

    with stub_server(flaky) as stub:
        embedder = OpenAIEmbedder(_settings(stub.url), environ={}, **FAST)
        vectors = await embedder.embed(["x"])
    assert len(vectors) == 1
    assert len(stub.requests) == 3
    assert "Authorization" not in stub.requests[0]["headers"]  # self-hosted, no key


async def test_openai_gives_up_after_max_retries() -> None:
    with stub_server(lambda request, number: (503, {"error": "down"}, {})) as stub:
        embedder = OpenAIEmbedder(_settings(stub.url, max_retries=2), environ={}, **FAST)
        with pytest.raises(BackendUnavailableError, match=r"HTTP 503.*3 attempt") as caught:
            await embedder.embed(["x"])
    assert len(stub.requests) == 3
    assert "max_retries" in (caught.value.hint or "")


@pytest.mark.parametrize(("status", "error", "hint"), [
    (401, ConfigError, "TEST_KEY"),
    (404, ConfigError, "base_url"),
    (400, EmbeddingServiceError, "embedding.model"),
])
async def test_openai_client_errors_fail_at_once(
    status: int, error: type[Exception], hint: str
) -> None:
    reply = {"error": {"message": "nope"}}
    with stub_server(lambda request, number: (status, reply, {})) as stub:
        embedder = OpenAIEmbedder(_settings(stub.url, api_key_env="TEST_KEY"),
                                  environ={"TEST_KEY": "k"}, **FAST)
        with pytest.raises(error, match=f"HTTP {status}: nope") as caught:
            await embedder.embed(["x"])
    assert len(stub.requests) == 1
    assert hint in (getattr(caught.value, "hint", "") or "")


async def test_wrong_dimension_is_a_dimension_mismatch() -> None:
    with stub_server(openai_ok) as stub:
        embedder = OpenAIEmbedder(_settings(stub.url, dimension=8), environ={}, **FAST)
        with pytest.raises(DimensionMismatchError, match="4-dimensional") as caught:
            await embedder.embed(["x"])
    assert "embedding.dimension: 4" in (caught.value.hint or "")


async def test_malformed_reply_is_a_clear_error() -> None:
    with stub_server(lambda request, number: (200, {"nothing": []}, {})) as stub:
        embedder = OpenAIEmbedder(_settings(stub.url), environ={}, **FAST)
        with pytest.raises(EmbeddingServiceError, match="'data'"):
            await embedder.embed(["x"])


async def test_connection_refused_is_retried_then_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    embedder = OpenAIEmbedder(_settings(f"http://127.0.0.1:{port}", max_retries=1),
                              environ={}, **FAST)
    with pytest.raises(BackendUnavailableError, match="unreachable after 2 attempt"):
        await embedder.embed(["x"])
    assert embedder.requests == 2


def test_openai_without_key_for_the_default_endpoint_is_a_config_error() -> None:
    settings = EmbeddingSettings(provider="openai", api_key_env="AGENT_BRAIN_TEST_NO_KEY")
    with pytest.raises(ConfigError, match="AGENT_BRAIN_TEST_NO_KEY"):
        OpenAIEmbedder(settings, environ={})


def test_urls() -> None:
    assert embeddings_url(None) == "https://api.openai.com/v1/embeddings"
    assert embeddings_url("http://localhost:8000") == "http://localhost:8000/v1/embeddings"
    assert embeddings_url("http://h/v1/") == "http://h/v1/embeddings"
    assert embeddings_url("http://h/openai/v2") == "http://h/openai/v2/embeddings"
    assert embed_url(None) == "http://localhost:11434/api/embed"
    assert embed_url("http://h:1/api") == "http://h:1/api/embed"


async def test_ollama_batches_and_normalises() -> None:
    with stub_server(ollama_ok) as stub:
        embedder = OllamaEmbedder(_settings(stub.url), **FAST)
        vectors = await embedder.embed(["a", "bb", "ccc"])
    assert len(vectors) == 3
    assert all(_unit(v) for v in vectors)
    assert [r["path"] for r in stub.requests] == ["/api/embed", "/api/embed"]
    assert stub.requests[0]["body"] == {"model": "test-model", "input": ["a", "bb"]}


async def test_ollama_retries_then_fails_and_names_missing_models() -> None:
    def flaky(request: dict[str, Any], number: int) -> Reply:
        return (503, {"error": "loading"}, {}) if number == 0 else ollama_ok(request, number)

    with stub_server(flaky) as stub:
        assert len(await OllamaEmbedder(_settings(stub.url), **FAST).embed(["x"])) == 1
        assert len(stub.requests) == 2
    missing = {"error": 'model "test-model" not found, try pulling it first'}
    with (stub_server(lambda request, number: (404, missing, {})) as stub,
          pytest.raises(ConfigError, match="not found") as caught):
        await OllamaEmbedder(_settings(stub.url), **FAST).embed(["x"])
    assert caught.value.hint == "pull the model first: ollama pull test-model"
    with stub_server(lambda request, number: (500, {"error": "boom"}, {})) as stub:
        with pytest.raises(BackendUnavailableError, match="HTTP 500: boom"):
            await OllamaEmbedder(_settings(stub.url, max_retries=1), **FAST).embed(["x"])
        assert len(stub.requests) == 2


def test_factory_builds_http_embedders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_BRAIN_TEST_KEY", "k")
    openai = load_embedder(EmbeddingSettings(provider="openai", model="m", dimension=4,
                                             api_key_env="AGENT_BRAIN_TEST_KEY"))
    assert isinstance(openai, OpenAIEmbedder)
    assert openai.model_id == "m"
    ollama = load_embedder(EmbeddingSettings(provider="ollama", model="nomic-embed-text",
                                             dimension=768))
    assert isinstance(ollama, OllamaEmbedder)
    assert ollama.dimension == 768


async def test_empty_input_sends_nothing() -> None:
    embedder = OllamaEmbedder(_settings("http://127.0.0.1:9"), **FAST)
    assert await embedder.embed([]) == []
    assert embedder.requests == 0
