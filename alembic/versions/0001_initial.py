"""Initial schema: store record, namespaces, chunks, BM25 postings and statistics.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Per-namespace data lives in LIST partitions (by ``namespace_id``) of ``chunks``,
``postings`` and ``terms``. The backend creates a namespace's partitions at its first write
(named ``<table>_p<namespace id>``, never from user text) and drops them on ``reset``; the
indexes declared here on the parents are built on every partition. The vector index is the
one index per partition the backend builds itself, because its definition depends on the
store's dimension and the configured index kind.

``embedding`` is an untyped ``vector`` column: the dimension is recorded in ``store`` at the
first write, checked on every write, and fixed per namespace by the expression index
(``(embedding::vector(<dim>))``).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE agent_brain.store (
            id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
            embedding_model text,
            embedding_dimension integer CHECK (embedding_dimension > 0),
            distance text,
            text_search_config text,
            created_at timestamptz NOT NULL DEFAULT now(),
            recorded_at timestamptz
        )
    """)
    op.execute("INSERT INTO agent_brain.store (id) VALUES (1)")
    op.execute("""
        CREATE TABLE agent_brain.namespaces (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text COLLATE "C" NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_-]{1,63}$'),
            n_docs bigint NOT NULL DEFAULT 0 CHECK (n_docs >= 0),
            n_vectors bigint NOT NULL DEFAULT 0 CHECK (n_vectors >= 0),
            total_length bigint NOT NULL DEFAULT 0 CHECK (total_length >= 0),
            vector_index text,
            created_at timestamptz NOT NULL DEFAULT now()
        )
    """)
    op.execute("""
        CREATE TABLE agent_brain.chunks (
            namespace_id integer NOT NULL,
            id text COLLATE "C" NOT NULL,
            text text NOT NULL,
            embedding vector,
            metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
            tsv tsvector NOT NULL,
            doc_length integer NOT NULL CHECK (doc_length >= 0),
            PRIMARY KEY (namespace_id, id)
        ) PARTITION BY LIST (namespace_id)
    """)
    # Keep vectors inline (compressed text and tsvector go to TOAST first), so that an
    # exact scan reads each vector from the heap page instead of a TOAST lookup per row.
    op.execute("ALTER TABLE agent_brain.chunks ALTER COLUMN embedding SET STORAGE MAIN")
    op.execute("CREATE INDEX chunks_tsv ON agent_brain.chunks USING gin (tsv)")
    op.execute("""
        CREATE TABLE agent_brain.postings (
            namespace_id integer NOT NULL,
            term text COLLATE "C" NOT NULL,
            id text COLLATE "C" NOT NULL,
            tf integer NOT NULL CHECK (tf > 0),
            doc_length integer NOT NULL,
            PRIMARY KEY (namespace_id, term, id) INCLUDE (tf, doc_length)
        ) PARTITION BY LIST (namespace_id)
    """)
    op.execute("""
        CREATE TABLE agent_brain.terms (
            namespace_id integer NOT NULL,
            term text COLLATE "C" NOT NULL,
            df integer NOT NULL CHECK (df > 0),
            PRIMARY KEY (namespace_id, term)
        ) PARTITION BY LIST (namespace_id)
    """)
    op.execute("""
        CREATE TABLE agent_brain.df_histogram (
            namespace_id integer NOT NULL
                REFERENCES agent_brain.namespaces (id) ON DELETE CASCADE,
            df integer NOT NULL CHECK (df > 0),
            n_terms bigint NOT NULL,
            PRIMARY KEY (namespace_id, df)
        )
    """)


def downgrade() -> None:
    # Dropping a partitioned table drops its partitions (every namespace's data).
    for table in ("df_histogram", "terms", "postings", "chunks", "namespaces", "store"):
        op.execute(f"DROP TABLE IF EXISTS agent_brain.{table}")
