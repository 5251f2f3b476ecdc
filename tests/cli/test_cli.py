"""The agent-brain CLI in-process (typer's CliRunner) on temporary Chroma stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from agent_brain.cli import runtime
from agent_brain.errors import ConfigError
from agent_brain.transfer import migration
from tests.cli.conftest import Cli


def ok(result: Result, code: int = 0) -> Result:
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def data(result: Result) -> Any:
    return json.loads(ok(result).stdout)


def flat(text: str) -> str:
    """Console text with rich's line wrapping undone."""
    return " ".join(text.split())


# ---------------------------------------------------------------- ingest
def test_ingest_then_reingest_writes_nothing(cli: Cli) -> None:
    first = data(cli("ingest", str(cli.docs), "--json"))
    assert first["files"] == 3
    assert first["chunks"] > 3
    assert first["new"] == first["chunks"]
    assert (first["updated"], first["unchanged"], first["removed"]) == (0, 0, 0)
    assert first["embedder"] == "agent-brain/hashing-v1-32"

    again = data(cli("ingest", str(cli.docs), "--json"))
    assert (again["new"], again["updated"], again["removed"]) == (0, 0, 0)
    assert again["unchanged"] == first["chunks"]

    notes = cli.docs / "notes.txt"
    notes.write_text("Paragraph 0. Only one paragraph is left.", encoding="utf-8")
    shrunk = data(cli("ingest", str(cli.docs), "--json"))
    assert shrunk["updated"] == 1
    assert shrunk["removed"] > 0
    stats = data(cli("stats", "--json"))
    assert stats["namespaces"] == [{"name": "default", "chunks": shrunk["chunks"],
                                    "chunks_with_embedding": shrunk["chunks"]}]


def test_ingest_summary_names_the_embedder_and_the_fallback(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_brain.embedders import factory

    def unavailable(settings: Any) -> Any:
        raise ConfigError("no sentence-transformers here")

    monkeypatch.setattr(factory, "_sentence_transformers", unavailable)
    config = cli.store("auto", provider="auto", model="all-MiniLM-L6-v2")
    result = ok(cli("ingest", str(cli.docs), "-n", "docs", config=config))
    assert "OFFLINE HASHING FALLBACK" in result.stdout
    assert "new" in result.stdout
    assert "unchanged" in result.stdout
    assert "elapsed" in result.stdout
    assert "OFFLINE HASHING FALLBACK" in result.stderr
    stats = data(cli("stats", "--json", config=config))
    assert stats["embedding_model"] == "agent-brain/hashing-v1-32"


def test_ingest_metadata(cli: Cli) -> None:
    ok(cli("ingest", str(cli.docs / "guide.md")))
    hits = data(cli("search", "install pip", "--mode", "keyword", "--json"))["results"]
    top = hits[0]["metadata"]
    assert top["source"] == (cli.docs / "guide.md").resolve().as_posix()
    assert top["heading"] == "Guide > Install"
    assert top["title"] == "Guide"
    assert isinstance(top["chunk_index"], int)
    assert len(top["content_hash"]) == 64


# ---------------------------------------------------------------- search
def test_search_table_and_json(cli: Cli) -> None:
    ok(cli("ingest", str(cli.docs)))
    table = ok(cli("search", "reciprocal rank fusion", "--top-k", "3"))
    assert "score" in table.stdout
    assert "snippet" in table.stdout
    assert "guide.md" in table.stdout.replace("\n", "")
    assert "embedder:" in table.stderr

    hybrid = data(cli("search", "reciprocal rank fusion", "--json", "--fusion", "rrf"))
    assert hybrid["mode"] == "hybrid"
    assert hybrid["fusion"] == "rrf"
    assert hybrid["embedder"] == "agent-brain/hashing-v1-32"
    first = hybrid["results"][0]
    assert first["rank"] == 1
    assert "fusion" in first["text"]
    assert first["vector_rank"] is not None
    assert first["keyword_rank"] is not None

    keyword = data(cli("search", "volcanoes lava", "--mode", "keyword", "--json"))
    assert keyword["embedder"] is None
    assert keyword["results"]
    assert all(r["vector_score"] is None for r in keyword["results"])
    assert all("lava" in r["text"] for r in keyword["results"])

    vector = data(cli("search", "glaciers", "-m", "vector", "-k", "2", "--json"))
    assert [r["rank"] for r in vector["results"]] == [1, 2]

    filtered = data(cli("search", "chunks", "--json", "--filter",
                        json.dumps({"$and": [{"heading": {"$exists": True}}, {"title": "Guide"}]})))
    assert filtered["results"]
    assert all(r["metadata"]["source"].endswith("guide.md") for r in filtered["results"])
    empty = ok(cli("search", "anything", "-n", "nothing-here"))
    assert "No results" in empty.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--filter", "{bad json"], "not valid JSON"),
    (["--filter", "[1, 2]"], "must be a JSON object"),
    (["--filter", '{"k": {"$gt": [1]}}'], "$gt"),
    (["--filter", '{"k": {"$regex": "x"}}'], "$regex"),
    (["--mode", "fuzzy"], "fuzzy"),
    (["--top-k", "0"], "top-k"),
    (["--namespace", "no spaces"], "invalid namespace"),
])
def test_search_bad_usage_exits_2(cli: Cli, args: list[str], message: str) -> None:
    result = cli("search", "query", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- stats / doctor / db
def test_stats(cli: Cli) -> None:
    ok(cli("ingest", str(cli.docs), "-n", "team-a"))
    table = ok(cli("stats"))
    for word in ("chroma", "agent-brain/hashing-v1-32", "team-a", "namespaces", "settings"):
        assert word in table.stdout
    record = data(cli("stats", "--json"))
    assert record["backend"] == "chroma"
    assert record["embedding_dimension"] == 32
    assert record["location"] == str((cli.root / "store" / "chroma").resolve())
    assert [n["name"] for n in record["namespaces"]] == ["team-a"]
    assert "index" in record["settings"]


def test_doctor_passes_then_fails_on_a_model_mismatch(cli: Cli) -> None:
    empty = ok(cli("doctor"))
    assert "all checks passed" in empty.stdout
    assert "✓" in empty.stdout
    ok(cli("ingest", str(cli.docs)))
    assert data(cli("doctor", "--json"))["ok"] is True
    other = cli.root / "other-dim.yaml"
    other.write_text(cli.config.read_text().replace("dimension: 32", "dimension: 16"))
    failed = cli("doctor", config=other)
    assert failed.exit_code == 1, failed.output
    assert "✗" in failed.stdout
    assert "some checks failed" in failed.stdout
    report = json.loads(cli("doctor", "--json", config=other).stdout)
    assert report["ok"] is False
    assert any(not c["ok"] and "32" in c["detail"] for c in report["checks"])


def test_doctor_reports_a_bad_configuration(cli: Cli) -> None:
    bad = cli.root / "bad.yaml"
    bad.write_text("storage: {backend: chroma, colour: blue}\n")
    result = cli("doctor", config=bad)
    assert result.exit_code == 1
    assert "colour" in result.stdout


@pytest.mark.parametrize("args", [["db", "upgrade"], ["db", "current"],
                                  ["db", "downgrade", "base"]])
def test_db_commands_refuse_chroma(cli: Cli, args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert "the chroma backend has no schema migrations" in result.stderr


# ---------------------------------------------------------------- export / import
def test_export_import_round_trip(cli: Cli) -> None:
    ok(cli("ingest", str(cli.docs), "-n", "alpha"))
    ok(cli("ingest", str(cli.docs / "guide.md"), "-n", "beta"))
    dump = cli.root / "dump.jsonl"
    exported = ok(cli("export", str(dump), "--page-size", "3"))
    assert "exported" in exported.stderr
    lines = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()]
    assert {line["namespace"] for line in lines} == {"alpha", "beta"}
    assert all(len(line["embedding"]) == 32 for line in lines)

    copy = cli.store("copy")
    ok(cli("import", str(dump), "--batch-size", "4", config=copy))
    original = _dump(cli, cli.config, cli.root / "a.jsonl")
    restored = _dump(cli, copy, cli.root / "b.jsonl")
    assert [(r["id"], r["namespace"], r["text"], r["metadata"]) for r in original] == [
        (r["id"], r["namespace"], r["text"], r["metadata"]) for r in restored]
    for a, b in zip(original, restored, strict=True):
        # Chroma re-normalises cosine vectors on write, moving a component by <= 2 ulp
        assert a["embedding"] == b["embedding"]

    single = cli.store("single")
    ok(cli("export", str(cli.root / "beta.jsonl"), "-n", "beta"))
    ok(cli("import", str(cli.root / "beta.jsonl"), "-n", "renamed", config=single))
    assert [n["name"] for n in data(cli("stats", "--json", config=single))["namespaces"]] == [
        "renamed"]


def _dump(cli: Cli, config: Path, path: Path) -> list[dict[str, Any]]:
    ok(cli("export", str(path), config=config))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_import_refuses_a_bad_file_before_writing(cli: Cli) -> None:
    bad = cli.root / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "t", "embedding": null}\n{"id": 3}\n')
    result = cli("import", str(bad))
    assert result.exit_code == 2
    assert "bad.jsonl:2" in result.stderr
    wrong_dim = cli.root / "dim.jsonl"
    wrong_dim.write_text(json.dumps({"id": "a", "text": "t", "embedding": [1.0] * 5}) + "\n")
    result = cli("import", str(wrong_dim))
    assert result.exit_code == 2
    assert "5-dimensional" in result.stderr
    assert data(cli("stats", "--json"))["namespaces"] == []


# ---------------------------------------------------------------- migrate
def test_migrate_chroma_to_chroma_resumes_and_verifies(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(cli("ingest", str(cli.docs), "-n", "one"))
    ok(cli("ingest", str(cli.docs / "guide.md"), "-n", "two"))
    target = cli.store("target")
    checkpoint = target.with_name(target.name + ".migrate-checkpoint.json")

    def interrupt(namespace: str, pages: int) -> None:
        if pages == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(migration, "AFTER_PAGE_HOOK", interrupt)
    stopped = cli.bare("migrate", "--from", str(cli.config), "--to", str(target),
                       "--page-size", "2")
    assert stopped.exit_code == 130, stopped.output
    assert "re-run the same command to resume" in flat(stopped.stderr)
    saved = json.loads(checkpoint.read_text())
    assert saved["namespaces"]["one"]["offset"] == 4

    monkeypatch.setattr(migration, "AFTER_PAGE_HOOK", None)
    resumed = ok(cli.bare("migrate", "--from", str(cli.config), "--to", str(target),
                          "--page-size", "2"))
    assert "resuming" in resumed.stderr
    assert "resumed at 4" in resumed.stdout
    assert "migration verified" in resumed.stdout
    assert not checkpoint.exists()
    source_stats = data(cli("stats", "--json"))
    target_stats = data(cli("stats", "--json", config=target))
    assert source_stats["namespaces"] == target_stats["namespaces"]
    assert target_stats["embedding_model"] == source_stats["embedding_model"]

    # a namespace at a time, again: idempotent
    ok(cli.bare("migrate", "--from", str(cli.config), "--to", str(target), "-n", "two"))

    # the target holds a chunk the source does not: verification fails, exit 1
    extra = cli.root / "extra.jsonl"
    extra.write_text(json.dumps({"id": "extra", "text": "x", "embedding": None,
                                 "metadata": {}, "namespace": "two"}) + "\n")
    ok(cli("import", str(extra), config=target))
    failed = cli.bare("migrate", "--from", str(cli.config), "--to", str(target))
    assert failed.exit_code == 1, failed.output
    assert "verification failed" in failed.stdout
    assert "counts differ" in failed.stdout


def test_migrate_bad_usage(cli: Cli) -> None:
    ok(cli("ingest", str(cli.docs)))
    same = cli.bare("migrate", "--from", str(cli.config), "--to", str(cli.config))
    assert same.exit_code == 2
    assert "same store" in same.stderr
    other_dim = cli.store("dim16", dimension=16)
    mismatch = cli.bare("migrate", "--from", str(cli.config), "--to", str(other_dim))
    assert mismatch.exit_code == 2
    assert "nothing was copied" in mismatch.stderr
    target = cli.store("t")
    missing = cli.bare("migrate", "--from", str(cli.config), "--to", str(target), "-n", "nope")
    assert missing.exit_code == 2
    assert "no chunks in namespace 'nope'" in missing.stderr
    no_file = cli.bare("migrate", "--from", str(cli.root / "nope.yaml"), "--to", str(target))
    assert no_file.exit_code == 2


# ---------------------------------------------------------------- errors
def test_usage_errors_exit_2(cli: Cli) -> None:
    assert cli.bare("no-such-command").exit_code == 2
    assert cli("search").exit_code == 2
    assert cli("ingest").exit_code == 2
    missing = cli("ingest", str(cli.root / "missing"))
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr
    bad = cli.root / "bad.yaml"
    bad.write_text("storage: {backend: mongo}\n")
    result = cli("stats", config=bad)
    assert result.exit_code == 2
    assert "unknown backend 'mongo'" in result.stderr
    assert "Hint:" in result.stderr
    assert "Traceback" not in result.output


def test_unexpected_errors_are_one_line_unless_debug(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(config: Any) -> Any:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(runtime, "store_config", boom)
    result = cli("stats")
    assert result.exit_code == 1
    assert "Unexpected error: RuntimeError: boom" in result.stderr
    assert "re-run with --debug for the traceback" in result.stderr
    assert "Traceback" not in result.output
    assert "second line" not in result.output
    debug = cli.runner.invoke(__import__("agent_brain.cli").cli.app,
                              ["--debug", "--config", str(cli.config), "stats"])
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr


def test_version(cli: Cli) -> None:
    assert ok(cli.bare("--version")).stdout.startswith("agent-brain ")


# ---------------------------------------------------------------- eval
def test_eval_on_a_tiny_beir_folder(cli: Cli) -> None:
    from tests.eval.beir_fixture import TOPICS, build_beir

    folder = build_beir(cli.root / "tiny-beir")
    report = data(cli("eval", str(folder), "--json"))
    assert report["dataset"] == "tiny-beir"
    assert report["namespace"] == "eval-tiny-beir"
    assert report["documents"] == len(TOPICS)
    assert report["queries"] == len(TOPICS)
    assert report["corpus"]["status"] == "loaded"
    assert report["embedder"] == "agent-brain/hashing-v1-32"
    assert set(report["modes"]) == {"vector", "keyword", "hybrid-rrf", "hybrid-weighted"}
    assert report["modes"]["keyword"]["ndcg@10"] == 1.0
    for mode, scores in report["modes"].items():  # 32-dim hashing vectors collide a little
        assert scores["ndcg@10"] > 0.8, mode
        assert scores["recall@100"] == 1.0, mode
        assert scores["latency_ms"]["p50"] <= scores["latency_ms"]["p95"]

    again = ok(cli("eval", str(folder), "--modes", "keyword,vector", "--split", "test"))
    assert "reused" in again.stdout
    assert "nDCG@10" in again.stdout
    assert "hybrid" not in again.stdout.split("nDCG@10", 1)[1]

    train = data(cli("eval", str(folder), "--split", "train", "--modes", "keyword", "--json"))
    assert train["queries"] == 1
    assert train["modes"]["keyword"]["ndcg@10"] == 1.0

    bad = cli("eval", str(folder), "--modes", "semantic")
    assert bad.exit_code == 2
    assert "semantic" in bad.output


def test_eval_with_precomputed_embeddings(cli: Cli) -> None:
    from tests.eval.beir_fixture import build_beir

    folder = build_beir(cli.root / "emb", embeddings=True, dimension=8)
    config = cli.store("precomputed", provider="sentence-transformers",
                       model="tiny-test-model", dimension=8)
    report = data(cli("eval", str(folder), "--modes", "vector", "--json", config=config))
    assert report["embedder"] == "tiny-test-model"
    assert "precomputed corpus_emb.npy + query_emb.npy" in report["embedder_description"]
    assert report["modes"]["vector"]["ndcg@10"] == 1.0
    # stats needs no model: the store's recorded model is the configured one
    stats = data(cli("stats", "--json", config=config))
    assert (stats["embedding_model"], stats["embedding_dimension"]) == ("tiny-test-model", 8)

    # a hashing configuration does not record another model's vectors: it embeds itself
    hashing = data(cli("eval", str(folder), "--modes", "keyword", "--json"))
    assert hashing["embedder"] == "agent-brain/hashing-v1-32"
    assert "ignoring corpus_emb.npy" in hashing["embedder_description"]

    wrong_dim = cli.store("wrong-dim", provider="sentence-transformers",
                          model="tiny-test-model", dimension=16)
    refused = cli("eval", str(folder), config=wrong_dim)
    assert refused.exit_code == 2
    assert "embedding.dimension: 8" in flat(refused.stderr)


def test_eval_refuses_a_namespace_holding_other_data(cli: Cli) -> None:
    from tests.eval.beir_fixture import build_beir

    folder = build_beir(cli.root / "tiny")
    ok(cli("ingest", str(cli.docs), "-n", "eval-tiny"))
    taken = cli("eval", str(folder), "--modes", "keyword")
    assert taken.exit_code == 2
    assert "--reload" in flat(taken.stderr)
    reloaded = data(cli("eval", str(folder), "--modes", "keyword", "--reload", "--json"))
    assert reloaded["corpus"]["status"] == "loaded"


def test_unreachable_backend_exits_1(cli: Cli) -> None:
    pytest.importorskip("asyncpg")
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = cli.root / "down.yaml"
    config.write_text(f"storage: {{backend: postgres, postgres: {{dsn: "
                      f"'postgresql://nobody@127.0.0.1:{port}/x'}}}}\n")
    for args in (["stats"], ["search", "x", "-m", "keyword"], ["db", "current"]):
        result = cli(*args, config=config)
        assert result.exit_code == 1, (args, result.output)
        assert "cannot connect to PostgreSQL" in flat(result.stderr)
        assert "Traceback" not in result.output
    doctor = cli("doctor", "--json", config=config)
    assert doctor.exit_code == 1
    assert json.loads(doctor.stdout)["ok"] is False
