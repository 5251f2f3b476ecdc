"""Turn files into chunks and keep a namespace in step with them.

``discover`` finds the files, ``loaders`` reads them into sections (markdown keeps its
heading path), ``chunking`` splits prose into overlapping chunks on paragraph and sentence
boundaries, ``hashing`` makes ids and content hashes deterministic, and ``pipeline`` embeds
and writes only what changed. Everything here depends on the storage protocol only.
"""

from agent_brain.ingest.chunking import split_text
from agent_brain.ingest.discover import SUPPORTED_SUFFIXES, discover_files
from agent_brain.ingest.hashing import chunk_id, content_hash
from agent_brain.ingest.loaders import Section, load_file
from agent_brain.ingest.pipeline import IngestReport, chunk_file, ingest_files

__all__ = [
    "SUPPORTED_SUFFIXES",
    "IngestReport",
    "Section",
    "chunk_file",
    "chunk_id",
    "content_hash",
    "discover_files",
    "ingest_files",
    "load_file",
    "split_text",
]
