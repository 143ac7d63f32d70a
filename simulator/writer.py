"""Arrow schemas of the contract's tables and deterministic Parquet writing.

Byte-identical output for the same seed: tables are built from Arrow arrays (no pandas metadata), row
groups have a fixed size, and Parquet stores no write time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 1_000_000
TIMESTAMP = pa.timestamp("us", tz="UTC")
ACCOUNTS_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("account_name", pa.string()),
        ("segment", pa.string()),
        ("plan", pa.string()),
        ("seats", pa.int64()),
        ("mrr", pa.float64()),
        ("contract_type", pa.string()),
        ("contract_start", pa.date32()),
        ("renewal_date", pa.date32()),
        ("churn_date", pa.date32()),
        ("owner", pa.string()),
    ]
)
HISTORY_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("effective_date", pa.date32()),
        ("seats", pa.int64()),
        ("mrr", pa.float64()),
        ("plan", pa.string()),
    ]
)
_KEYS = [("account_id", pa.string()), ("user_id", pa.string()), ("timestamp", TIMESTAMP)]
LOG_SCHEMAS = {
    "logins": pa.schema(_KEYS),
    "record_events": pa.schema([*_KEYS, ("object_type", pa.string()), ("action", pa.string())]),
    "feature_events": pa.schema([*_KEYS, ("feature", pa.string())]),
}
TRUTH_SCHEMA = pa.schema(
    [("account_id", pa.string()), ("observation_date", pa.date32()), ("p_churn", pa.float64())]
)


def open_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A Parquet writer with the settings every simulator file shares."""
    return pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=True)


def write_table(path: Path, table: pa.Table) -> None:
    """Write a whole table at once."""
    with open_writer(path, table.schema) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)


def decode(codes: np.ndarray, labels: tuple[str, ...] | np.ndarray) -> pa.Array:
    """Strings from integer codes, without making a Python object per row."""
    return pa.array(np.asarray(labels, dtype=object), pa.string()).take(pa.array(codes))


def days_to_date32(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Day numbers to date32; `null` marks missing values."""
    return pa.array(np.asarray(days, dtype=np.int32), pa.int32(), mask=null).cast(pa.date32())


def seconds_to_timestamp(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype(np.int64) * 1_000_000, pa.int64()).cast(TIMESTAMP)
