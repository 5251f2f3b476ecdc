"""Move chunks between stores: JSON-lines export/import and backend-to-backend migration,
both through the storage protocol only (so any backend pairs with any other)."""

from agent_brain.transfer.digest import canonical_metadata, chunk_digest
from agent_brain.transfer.jsonl import export_jsonl, import_jsonl, iter_pages, scan_jsonl
from agent_brain.transfer.migration import (
    Checkpoint,
    MigrationReport,
    NamespaceCheck,
    migrate,
    verify,
)

__all__ = [
    "Checkpoint",
    "MigrationReport",
    "NamespaceCheck",
    "canonical_metadata",
    "chunk_digest",
    "export_jsonl",
    "import_jsonl",
    "iter_pages",
    "migrate",
    "scan_jsonl",
    "verify",
]
