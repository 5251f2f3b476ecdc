"""langchain-tests' standard ``VectorStoreIntegrationTests``, unchanged, on both backends.

The suite embeds with ``DeterministicFakeEmbedding(size=6)``, so each store is configured
with ``embedding.dimension: 6`` (and a model name saying so); every test gets a brand-new
store (a folder for Chroma, a database for PostgreSQL) handed over unopened as
``backend=``: the adapter opens it on first use and, having opened it, closes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from langchain_tests.integration_tests.vectorstores import (
    EMBEDDING_SIZE,
    VectorStoreIntegrationTests,
)

from agent_brain import create_backend
from agent_brain.config import AgentBrainConfig
from agent_brain.integrations.langchain import AgentBrainVectorStore
from tests.integrations.conftest import NewConfig, base_config


def fake_config(config: AgentBrainConfig) -> AgentBrainConfig:
    config.embedding.model = f"langchain-deterministic-fake-{EMBEDDING_SIZE}"
    return config


class TestChromaStandard(VectorStoreIntegrationTests):
    @pytest.fixture
    def vectorstore(self, tmp_path: Path) -> Iterator[AgentBrainVectorStore]:  # type: ignore[override]
        config = fake_config(base_config(EMBEDDING_SIZE))
        config.storage.chroma.path = str(tmp_path / "chroma")
        store = AgentBrainVectorStore(backend=create_backend(config),
                                      embedding=self.get_embeddings(), namespace="standard")
        try:
            yield store
        finally:
            store.close()


@pytest.mark.postgres
class TestPostgresStandard(VectorStoreIntegrationTests):
    @pytest.fixture
    async def vectorstore(  # type: ignore[override]
        self, new_config: NewConfig
    ) -> AsyncIterator[AgentBrainVectorStore]:
        config = fake_config(await new_config("postgres", EMBEDDING_SIZE))
        store = AgentBrainVectorStore(backend=create_backend(config),
                                      embedding=self.get_embeddings(), namespace="standard")
        try:
            yield store
        finally:
            await store.aclose()
