"""Write validated data: contract-typed Parquet, the quarantine, counts and manifest, as one directory."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.atomic import atomic_dir
from ingest.contract import OPTIONAL_TABLES, TABLES, Table
from ingest.validate import QUARANTINE_COLUMNS, CleanData

log = logging.getLogger(__name__)

ARROW_TYPES = {
    "id": pa.string(),
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
QUARANTINE_SCHEMA = pa.schema(
    [
        ("table", pa.string()),
        ("file", pa.string()),
        ("row", pa.int64()),
        ("reason", pa.string()),
        ("raw", pa.string()),
    ]
)


def arrow_schema(table: Table) -> pa.Schema:
    """The exact output schema of a contract table: required columns, then optional ones."""
    columns = {**table.columns, **table.optional}
    return pa.schema([(name, ARROW_TYPES[kind]) for name, kind in columns.items()])


def to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    # Schema-driven, without pandas metadata, so the files carry only contract types and stay byte-stable.
    arrays = [pa.array(frame[f.name], type=f.type, from_pandas=True) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def write_clean(data: CleanData, target: Path, manifest_extra: dict | None = None) -> None:
    """Write every output into a temporary directory, then swap it in for `target` in one rename."""
    with atomic_dir(target) as tmp:
        for table in (*TABLES, *OPTIONAL_TABLES):
            # An optional table not supplied is written empty, so downstream stages see a fixed set of
            # files; manifest.json's `files` says whether it was supplied.
            frame = data.tables.get(table.name, pd.DataFrame(columns=list(table.columns)))
            write_parquet(to_arrow(frame, arrow_schema(table)), tmp / f"{table.name}.parquet")
        quarantine = data.quarantine[list(QUARANTINE_COLUMNS)]
        write_parquet(to_arrow(quarantine, QUARANTINE_SCHEMA), tmp / "quarantine.parquet")
        write_json(data.counts, tmp / "counts.json")
        manifest = {"as_of": data.as_of.isoformat(), "files": data.files, **(manifest_extra or {})}
        write_json(manifest, tmp / "manifest.json")
    log.info("wrote %s", target)


def write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd", write_statistics=True)


def write_json(obj: dict, path: Path) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")
