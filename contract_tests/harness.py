"""How the contract suite gets a fresh, isolated, empty store of each registered backend.

A harness is started once per test session (it may launch a server) and then hands out one
configuration per test, each pointing at a store no other test touches. Register a new
backend by adding its harness to :data:`HARNESSES`; no test changes.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from agent_brain.config import AgentBrainConfig

DIMENSION = 8
"""The contract suite's embedding dimension: small, so vectors are easy to reason about."""


def base_config(backend: str) -> AgentBrainConfig:
    config = AgentBrainConfig()
    config.storage.backend = backend
    config.embedding.provider = "none"  # the tests supply their own vectors
    config.embedding.dimension = DIMENSION
    config.embedding.model = "contract-test-model"
    return config


class Harness(Protocol):
    name: str

    async def start(self, workdir: Path) -> None:
        """Once per session, before the first store (may start a server)."""
        ...

    async def new_store(self, workdir: Path) -> AgentBrainConfig:
        """A configuration naming a brand-new, empty store."""
        ...

    async def drop_store(self, config: AgentBrainConfig) -> None:
        """Release what :meth:`new_store` created (after the backend was closed)."""
        ...

    async def stop(self) -> None:
        """Once per session, at the end."""
        ...


class EmbeddedChromaHarness:
    """``PersistentClient`` in a fresh folder per test."""

    name = "chroma"

    def __init__(self) -> None:
        self._counter = itertools.count()

    async def start(self, workdir: Path) -> None:
        return None

    async def new_store(self, workdir: Path) -> AgentBrainConfig:
        config = base_config("chroma")
        config.storage.chroma.path = str(workdir / f"chroma-{next(self._counter)}")
        return config

    async def drop_store(self, config: AgentBrainConfig) -> None:
        shutil.rmtree(config.storage.chroma.path, ignore_errors=True)

    async def stop(self) -> None:
        return None


class ChromaServerHarness:
    """A real ``chroma run`` server on loopback; one Chroma database per test."""

    name = "chroma-http"

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._port = 0
        self._counter = itertools.count()
        self._log: Path | None = None

    async def start(self, workdir: Path) -> None:
        chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
        self._port = _free_port()
        data = Path(tempfile.mkdtemp(prefix="chroma-server-", dir=workdir))
        self._log = data / "server.log"
        self._process = _spawn(
            [chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1",
             "--port", str(self._port)],
            self._log,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chroma run exited early:\n{self._log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self._port), timeout=0.5):
                    return
            except OSError:
                await asyncio.sleep(0.2)
        raise RuntimeError(f"chroma run did not listen within 60 s:\n{self._log.read_text()}")

    async def new_store(self, workdir: Path) -> AgentBrainConfig:
        import chromadb

        name = f"contract_{os.getpid()}_{next(self._counter)}"
        admin = chromadb.AdminClient(chromadb.Settings(
            chroma_api_impl="chromadb.api.fastapi.FastAPI",
            chroma_server_host="127.0.0.1", chroma_server_http_port=self._port,
            anonymized_telemetry=False,
        ))
        admin.create_database(name, tenant="default_tenant")
        config = base_config("chroma")
        chroma = config.storage.chroma
        chroma.host, chroma.port, chroma.database = "127.0.0.1", self._port, name
        chroma.path = str(workdir / f"chroma-http-{name}")
        chroma.index_path = str(workdir / f"chroma-http-{name}-index")
        return config

    async def drop_store(self, config: AgentBrainConfig) -> None:
        if config.storage.chroma.index_path:
            shutil.rmtree(config.storage.chroma.index_path, ignore_errors=True)

    async def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()


def _spawn(argv: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _postgres_harness() -> Harness:
    from contract_tests.harness_postgres import PostgresHarness

    return PostgresHarness()


HARNESSES: dict[str, Callable[[], Harness]] = {
    "chroma": EmbeddedChromaHarness,
    "chroma-http": ChromaServerHarness,
    "postgres": _postgres_harness,
}
"""Every backend (and deployment of one) the contract suite runs against."""
