"""A columnar log: stages append arrays per tick; the log concatenates them once at the end.

Columns listed in ``codes`` hold integer codes into a fixed list of strings (sensor ids, object
ids): a row then costs 4 bytes instead of a Python string, and the table gets a dictionary-encoded
column (Parquet keeps it compact). Code −1 is null.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
from numpy.typing import ArrayLike

__all__ = ["ColumnLog"]


class ColumnLog:
    """Rows appended as blocks of equal-length columns, with a fixed schema."""

    def __init__(self, schema: pa.Schema, codes: Mapping[str, Sequence[str]] | None = None) -> None:
        self.schema = schema
        self.codes = {name: pa.array(list(values), type=pa.string())
                      for name, values in (codes or {}).items()}
        self._blocks: dict[str, list[np.ndarray]] = {name: [] for name in schema.names}
        self.rows = 0

    def append(self, columns: Mapping[str, ArrayLike]) -> None:
        """Append a block; every schema column must be given, all of one length (scalars broadcast).
        Coded columns take integer codes."""
        arrays = {name: np.asarray(columns[name]) for name in self.schema.names}
        n = max((a.size for a in arrays.values() if a.ndim > 0), default=1)
        if n == 0:
            return
        for name, array in arrays.items():
            if array.ndim == 0:
                array = np.full(n, array.item(), dtype=array.dtype)
            if len(array) != n:
                raise ValueError(f"column {name} has {len(array)} rows, expected {n}")
            if name in self.codes:
                array = array.astype(np.int32, copy=False)
            self._blocks[name].append(array)
        self.rows += n

    def column(self, name: str) -> np.ndarray:
        """All values of one column so far (codes for coded columns)."""
        blocks = self._blocks[name]
        return np.concatenate(blocks) if blocks else np.zeros(0)

    def to_table(self) -> pa.Table:
        """All rows as a pyarrow Table; coded columns become dictionary-encoded strings."""
        columns = []
        fields = []
        for field in self.schema:
            blocks = self._blocks[field.name]
            if field.name in self.codes:
                codes = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int32)
                indices = pa.array(codes, type=pa.int32(), mask=codes < 0)
                columns.append(pa.DictionaryArray.from_arrays(indices, self.codes[field.name]))
                fields.append(pa.field(field.name, pa.dictionary(pa.int32(), pa.string())))
                self._blocks[field.name] = []
                continue
            if blocks:
                data = np.concatenate(blocks)
            else:
                data = np.array([], dtype=object if pa.types.is_string(field.type) else float)
            self._blocks[field.name] = []  # free the blocks as the table takes shape
            columns.append(pa.array(data, type=field.type, from_pandas=True))
            fields.append(field)
        return pa.Table.from_arrays(columns, schema=pa.schema(fields))
