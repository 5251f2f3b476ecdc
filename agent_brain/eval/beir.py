"""Read a BEIR-format dataset folder.

Files (``SPLIT`` is ``test`` unless asked otherwise):

- ``corpus.jsonl`` or ``corpus.jsonl.gz``: ``{"_id" or "id", "title", "text"}`` per line;
- queries: ``queries_SPLIT.jsonl``, else ``queries.jsonl`` (BEIR keeps every split's
  queries there; only queries with judgments are evaluated);
- qrels: ``qrels_SPLIT.tsv``, else ``qrels/SPLIT.tsv``, else (``test`` only) ``qrels.tsv``;
  ``query-id<TAB>corpus-id<TAB>score`` with an optional header line;
- optional precomputed embeddings (float16 or float32 ``.npy``, one row per id of the
  matching ids file): ``corpus_emb.npy`` + ``ids_corpus.txt``, and
  ``query_SPLIT_emb.npy`` + ``ids_queries_SPLIT.txt`` or ``query_emb.npy`` +
  ``ids_queries.txt``. Query embeddings are looked up by id, so a file holding another
  split's queries is harmless.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent_brain.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    title: str
    text: str

    @property
    def content(self) -> str:
        """What is indexed and embedded: ``(title + " " + text).strip()``."""
        return f"{self.title} {self.text}".strip()


@dataclass(slots=True)
class BeirDataset:
    name: str
    root: Path
    split: str
    corpus: list[Document]
    queries: dict[str, str]
    """Queries that have at least one relevant judgment, in file order."""
    qrels: dict[str, dict[str, int]]
    corpus_embeddings: np.ndarray[Any, Any] | None = None
    """float32, row ``i`` is ``corpus[i]``."""
    query_embeddings: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    """Which file supplied what (for reports)."""


def _bad(root: Path, message: str, hint: str | None = None) -> InvalidInputError:
    return InvalidInputError(
        f"{root}: {message}",
        hint=hint or "see docs/cli.md (agent-brain eval) for the BEIR folder layout",
    )


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise _bad(path, f"line {number} is not JSON: {exc}") from None
            if not isinstance(record, dict):
                raise _bad(path, f"line {number} is not a JSON object")
            yield number, record


def _record_id(path: Path, number: int, record: dict[str, Any]) -> str:
    value = record.get("_id", record.get("id"))
    if value is None or value == "":
        raise _bad(path, f"line {number} has no '_id' or 'id'")
    return str(value)


def _first(root: Path, *names: str) -> Path | None:
    for name in names:
        if (root / name).is_file():
            return root / name
    return None


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip("\r\n").split("\t")
            if not line.strip():
                continue
            if len(parts) == 4:  # TREC format: qid, iteration, docid, grade
                parts = [parts[0], parts[2], parts[3]]
            if len(parts) != 3:
                raise _bad(path, f"line {number} has {len(parts)} tab-separated fields; "
                           "expected query-id, corpus-id, score")
            try:
                grade = int(float(parts[2]))
            except ValueError:
                if number == 1:
                    continue  # header
                raise _bad(path, f"line {number}: score {parts[2]!r} is not a number") from None
            qrels.setdefault(parts[0], {})[parts[1]] = grade
    return qrels


def _embeddings(root: Path, matrix: Path, ids: Path) -> tuple[np.ndarray[Any, Any], list[str]]:
    array = np.load(matrix, allow_pickle=False)
    names = [line.strip() for line in ids.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    if array.ndim != 2 or array.shape[0] != len(names):
        raise _bad(root, f"{matrix.name} has shape {array.shape} but {ids.name} lists "
                   f"{len(names)} ids; expected one row per id")
    if not np.issubdtype(array.dtype, np.floating):
        raise _bad(root, f"{matrix.name} holds {array.dtype}; expected float16 or float32")
    return array.astype(np.float32), names


def load_beir(root: str | Path, split: str = "test", *, embeddings: bool = True) -> BeirDataset:
    """Load the folder ``root``; raises :class:`InvalidInputError` naming what is missing."""
    root = Path(root)
    if not root.is_dir():
        raise _bad(root, "is not a folder")
    files: dict[str, str] = {}
    corpus_path = _first(root, "corpus.jsonl", "corpus.jsonl.gz")
    if corpus_path is None:
        raise _bad(root, "has no corpus.jsonl or corpus.jsonl.gz")
    files["corpus"] = corpus_path.name
    corpus: list[Document] = []
    seen: set[str] = set()
    for number, record in _jsonl(corpus_path):
        doc_id = _record_id(corpus_path, number, record)
        if doc_id in seen:
            raise _bad(corpus_path, f"line {number}: document id {doc_id!r} repeats")
        seen.add(doc_id)
        corpus.append(Document(doc_id, str(record.get("title") or ""),
                               str(record.get("text") or "")))

    qrels_path = _first(root, f"qrels_{split}.tsv", f"qrels/{split}.tsv",
                        *(("qrels.tsv",) if split == "test" else ()))
    if qrels_path is None:
        raise _bad(root, f"has no qrels for split {split!r} (qrels_{split}.tsv, "
                   f"qrels/{split}.tsv{', qrels.tsv' if split == 'test' else ''})")
    files["qrels"] = str(qrels_path.relative_to(root))
    qrels = {q: d for q, d in load_qrels(qrels_path).items() if any(g > 0 for g in d.values())}

    queries_path = _first(root, f"queries_{split}.jsonl", "queries.jsonl")
    if queries_path is None:
        raise _bad(root, f"has no queries_{split}.jsonl or queries.jsonl")
    files["queries"] = queries_path.name
    queries: dict[str, str] = {}
    for number, record in _jsonl(queries_path):
        query_id = _record_id(queries_path, number, record)
        if query_id in qrels:
            queries[query_id] = str(record.get("text") or "")
    missing = sorted(set(qrels) - set(queries))
    if missing:
        raise _bad(root, f"{len(missing)} judged queries are missing from "
                   f"{queries_path.name} (first: {missing[0]!r})")

    dataset = BeirDataset(root.name, root, split, corpus, queries,
                          {q: qrels[q] for q in queries}, files=files)
    if embeddings:
        _attach_embeddings(dataset)
    return dataset


def _attach_embeddings(dataset: BeirDataset) -> None:
    root = dataset.root
    if (root / "corpus_emb.npy").is_file() and (root / "ids_corpus.txt").is_file():
        matrix, ids = _embeddings(root, root / "corpus_emb.npy", root / "ids_corpus.txt")
        row = {doc_id: i for i, doc_id in enumerate(ids)}
        absent = [d.id for d in dataset.corpus if d.id not in row]
        if absent:
            raise _bad(root, f"ids_corpus.txt lacks {len(absent)} corpus ids "
                       f"(first: {absent[0]!r})")
        dataset.corpus_embeddings = matrix[[row[d.id] for d in dataset.corpus]]
        dataset.files["corpus_embeddings"] = "corpus_emb.npy"
    split = dataset.split
    for matrix_name, ids_name in ((f"query_{split}_emb.npy", f"ids_queries_{split}.txt"),
                                  ("query_emb.npy", "ids_queries.txt")):
        if (root / matrix_name).is_file() and (root / ids_name).is_file():
            matrix, ids = _embeddings(root, root / matrix_name, root / ids_name)
            found = 0
            for i, query_id in enumerate(ids):
                if query_id in dataset.queries and query_id not in dataset.query_embeddings:
                    dataset.query_embeddings[query_id] = matrix[i]
                    found += 1
            if found:
                dataset.files.setdefault("query_embeddings", matrix_name)
