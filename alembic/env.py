"""Alembic environment of Agent Brain's PostgreSQL schema.

The library runs it through :mod:`agent_brain.backends.postgres.schema`, which hands over an
open connection in ``config.attributes["connection"]``, already inside the transaction that
holds the schema advisory lock and created the ``vector`` extension. Run by the ``alembic``
command instead, it opens that connection itself the same way (``-x dsn=...``, else
``AGENT_BRAIN_POSTGRES_DSN``, else the default configuration). ``--sql`` (offline mode)
prints the revisions' SQL.

The version table lives in the store's own schema (``agent_brain.alembic_version``), so it
never collides with an application's own Alembic history in the same database.
"""

from __future__ import annotations

from typing import Any

from agent_brain.backends.postgres.names import SCHEMA, VERSION_TABLE
from alembic import context


def run_migrations(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        version_table=VERSION_TABLE,
        version_table_schema=SCHEMA,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url="postgresql://",
        target_metadata=None,
        literal_binds=True,
        version_table=VERSION_TABLE,
        version_table_schema=SCHEMA,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if _connection is not None:
    run_migrations(_connection)
elif context.is_offline_mode():
    run_offline()
else:
    from agent_brain.backends.postgres.schema import run_from_alembic_command

    run_from_alembic_command(context.config, context.get_x_argument(as_dictionary=True),
                             run_migrations)
