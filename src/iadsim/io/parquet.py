"""Parquet output, written atomically (temporary file, then rename) and byte-reproducibly; tables
read back, with dictionary columns decoded on request."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from iadsim.io.paths import replace_atomically, temp_path

__all__ = ["decoded", "read_table", "write_table"]


def decoded(table: pa.Table) -> pa.Table:
    """The table with dictionary-encoded columns turned into plain ones (for sorting, joins): the
    run folder's tables store repeated strings as dictionaries."""
    schema = pa.schema([pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
                        for f in table.schema])
    return table.cast(schema)


def write_table(table: pa.Table, path: Path, metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``table`` to ``path`` (zstd); the same table and metadata give the same bytes.

    Args:
        table: the table.
        path: the file.
        metadata: key → value added to the schema's metadata (kept by the file's Arrow schema).
    """
    if metadata:
        merged = {**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in metadata.items()}}
        table = table.replace_schema_metadata(merged)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return replace_atomically(tmp, path)


def read_table(path: Path) -> pa.Table:
    """Read a Parquet file written by ``write_table``."""
    return pq.read_table(path)
