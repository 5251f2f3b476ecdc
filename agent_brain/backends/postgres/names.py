"""Every SQL identifier the backend uses. None comes from a user: tables are fixed names owned
by the Alembic revisions, and a namespace's partitions are named after its integer id."""

from __future__ import annotations

SCHEMA = "agent_brain"
"""The PostgreSQL schema holding every table of the store (and Alembic's version table)."""

STORE = f"{SCHEMA}.store"
NAMESPACES = f"{SCHEMA}.namespaces"
CHUNKS = f"{SCHEMA}.chunks"
POSTINGS = f"{SCHEMA}.postings"
TERMS = f"{SCHEMA}.terms"
DF_HISTOGRAM = f"{SCHEMA}.df_histogram"
VERSION_TABLE = "alembic_version"

PARTITIONED = ("chunks", "postings", "terms")
"""Tables with one LIST partition per namespace."""


def partition(table: str, namespace_id: int) -> str:
    """Qualified name of ``table``'s partition for one namespace, e.g.
    ``agent_brain.chunks_p12``."""
    return f"{SCHEMA}.{partition_table(table, namespace_id)}"


def partition_table(table: str, namespace_id: int) -> str:
    """Unqualified partition name; refuses anything but a known table and a positive int."""
    if table not in PARTITIONED:
        raise ValueError(f"{table!r} is not a partitioned table")
    if isinstance(namespace_id, bool) or not isinstance(namespace_id, int) or namespace_id <= 0:
        raise ValueError(f"namespace ids are positive integers, got {namespace_id!r}")
    return f"{table}_p{namespace_id}"


def vector_index(namespace_id: int) -> str:
    """Name of the vector index of one namespace's chunk partition (unqualified)."""
    return partition_table("chunks", namespace_id) + "_embedding"
