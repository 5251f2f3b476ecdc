"""A tiny synthetic BEIR folder whose right answers are obvious."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

TOPICS = ["apple orchard harvest", "volcano lava eruption", "violin concerto orchestra",
          "glacier ice melting", "rocket launch orbit", "coral reef fish"]


def build_beir(root: Path, *, gz: bool = True, embeddings: bool = False,
               dimension: int = 8) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    docs = [{"_id": f"doc{i}", "title": f"Title {i}", "text": f"All about {topic}."}
            for i, topic in enumerate(TOPICS)]
    lines = "".join(json.dumps(d) + "\n" for d in docs)
    if gz:
        with gzip.open(root / "corpus.jsonl.gz", "wt", encoding="utf-8") as handle:
            handle.write(lines)
    else:
        (root / "corpus.jsonl").write_text(lines, encoding="utf-8")
    queries = [{"_id": f"q{i}", "text": topic.split()[1]} for i, topic in enumerate(TOPICS)]
    queries.append({"_id": "unjudged", "text": "nothing"})
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries),
                                        encoding="utf-8")
    rows = ["query-id\tcorpus-id\tscore"]
    rows += [f"q{i}\tdoc{i}\t1" for i in range(len(TOPICS))]
    rows.append("q0\tdoc3\t0")
    (root / "qrels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "queries_train.jsonl").write_text(json.dumps({"id": "t0", "text": "lava"}) + "\n",
                                              encoding="utf-8")
    (root / "qrels_train.tsv").write_text("t0\tdoc1\t2\n", encoding="utf-8")
    if embeddings:
        # one-hot-ish vectors: doc i and query i point the same way; rows shuffled
        order = list(reversed(range(len(TOPICS))))
        matrix = np.zeros((len(TOPICS), dimension), dtype=np.float16)
        for row, i in enumerate(order):
            matrix[row, i % dimension] = 1.0
            matrix[row, (i + 1) % dimension] = 0.1
        np.save(root / "corpus_emb.npy", matrix)
        (root / "ids_corpus.txt").write_text("\n".join(f"doc{i}" for i in order) + "\n",
                                             encoding="utf-8")
        qmatrix = np.zeros((len(TOPICS), dimension), dtype=np.float32)
        for i in range(len(TOPICS)):
            qmatrix[i, i % dimension] = 1.0
        np.save(root / "query_emb.npy", qmatrix)
        (root / "ids_queries.txt").write_text(
            "\n".join(f"q{i}" for i in range(len(TOPICS))) + "\n", encoding="utf-8")
    return root
