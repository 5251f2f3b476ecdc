"""PostgreSQL + pgvector backend (``storage.backend: postgres``).

``PGBackend`` is what :func:`agent_brain.create_backend` builds; see ``docs/postgres.md``
for the layout (one partition per namespace), BM25 in SQL, the Alembic schema and the
measurements behind them.
"""

from agent_brain.backends.postgres.backend import PGBackend

__all__ = ["PGBackend"]
