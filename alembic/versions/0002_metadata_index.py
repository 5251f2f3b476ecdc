"""Metadata index: GIN (jsonb_path_ops) on chunks.metadata.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02

Equality filters (``{"k": v}``, ``$in``) compile to ``metadata @> '{"k": v}'``, which this
index answers, so a selective filter finds its chunks without reading the namespace: counts,
listings and deletes by filter, and the exact scan a filtered vector search falls back to.
Declared on the partitioned parent, it is built on every namespace's partition (and on the
ones created later, when they are attached).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX chunks_metadata ON agent_brain.chunks USING gin (metadata jsonb_path_ops)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS agent_brain.chunks_metadata")
