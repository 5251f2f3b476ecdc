"""One YAML for the CLI and the adapters: what ``agent-brain ingest`` writes, the adapters
read (and the other way round), and a framework's own embeddings record the model the
configuration names."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode
from typer.testing import CliRunner

from agent_brain import create_backend, load_config
from agent_brain.cli import app
from agent_brain.integrations import langchain as lc
from agent_brain.integrations import llama_index as li
from tests.integrations.conftest import DIM


@pytest.fixture
def yaml_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("AGENT_BRAIN_STORAGE_BACKEND", "AGENT_BRAIN_CHROMA_PATH",
                 "AGENT_BRAIN_EMBEDDING_PROVIDER", "AGENT_BRAIN_EMBEDDING_MODEL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "agent-brain.yaml"
    path.write_text(yaml.safe_dump({
        "storage": {"backend": "chroma", "chroma": {"path": str(tmp_path / "store")}},
        "embedding": {"provider": "hash", "dimension": DIM},  # model left at its default
    }), encoding="utf-8")
    return path


def test_cli_ingest_then_adapters(yaml_config: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lava.md").write_text("# Lava\n\nLava flows glow red at night.\n", encoding="utf-8")
    (docs / "code.md").write_text("# Code\n\nPython programs parse text.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(yaml_config), "ingest", str(docs),
                                      "--namespace", "kb"])
    assert result.exit_code == 0, result.output

    config = load_config(yaml_config)
    with li.AgentBrainVectorStore.from_config(config, namespace="kb") as store:
        embedding = li.AgentBrainEmbedding.from_config(config).get_query_embedding("lava")
        found = store.query(VectorStoreQuery(query_str="lava", query_embedding=embedding,
                                             similarity_top_k=1,
                                             mode=VectorStoreQueryMode.HYBRID))
        assert found.nodes is not None
        assert isinstance(found.nodes[0], TextNode)
        assert "Lava flows" in found.nodes[0].get_content()
    embeddings = lc.AgentBrainEmbeddings.from_config(config)
    with lc.AgentBrainVectorStore.from_config(config, embeddings, namespace="kb") as store:
        assert "Python" in store.similarity_search("python programs", k=1)[0].page_content


def test_adapters_then_cli_search(yaml_config: Path) -> None:
    config = load_config(yaml_config)
    embeddings = lc.AgentBrainEmbeddings.from_config(config)
    with lc.AgentBrainVectorStore.from_config(config, embeddings, namespace="kb") as store:
        store.add_documents([Document(id="g", page_content="Glaciers carve valleys."),
                             Document(id="v", page_content="Volcanoes erupt.")])
    result = CliRunner().invoke(app, ["--config", str(yaml_config), "search", "glaciers",
                                      "--namespace", "kb", "--top-k", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["id"] == "g"


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_foreign_embeddings_record_the_configured_model(yaml_config: Path,
                                                        framework: str) -> None:
    config = load_config(yaml_config)
    config.embedding.model = "my-team/fake-embedding"
    if framework == "langchain":
        with lc.AgentBrainVectorStore.from_config(
                config, DeterministicFakeEmbedding(size=DIM), namespace="kb") as store:
            store.add_texts(["anything"], ids=["a"])
    else:
        embed_model = MockEmbedding(embed_dim=DIM)
        with li.AgentBrainVectorStore.from_config(config, namespace="kb",
                                                  embed_model=embed_model) as li_store:
            li_store.add([TextNode(id_="a", text="anything",
                                   embedding=embed_model.get_text_embedding("anything"))])

    # Vectors computed outside Agent Brain are declared with provider "none".
    declared = config.model_copy(deep=True)
    declared.embedding.provider = "none"

    async def recorded() -> str | None:
        async with create_backend(declared) as backend:
            return (await backend.info()).embedding_model

    assert asyncio.run(recorded()) == "my-team/fake-embedding"
