"""Stage `featurize`: clean Parquet -> one row per (account, observation date) with label and features.

The engine (DuckDB or Spark) comes from `featurize.engine`; the feature definitions are the same ibis
expressions either way. Output is sorted by observation_date, account_id and written atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features import build_features
from features.engine import connect, register_tables
from features.labels import build_grid, label_grid, observation_dates
from pipeline.config import Featurize, load_params

log = logging.getLogger(__name__)

OUTPUT = "features.parquet"


def read_as_of(clean_dir: Path) -> dt.date:
    """The data cut-off the validate stage recorded."""
    with open(clean_dir / "manifest.json", encoding="utf-8") as fh:
        return dt.date.fromisoformat(json.load(fh)["as_of"])


def featurize(clean_dir: Path, cfg: Featurize) -> pd.DataFrame:
    """The labelled grid joined with every feature, sorted by observation_date, account_id."""
    as_of = read_as_of(clean_dir)
    accounts = pd.read_parquet(clean_dir / "accounts.parquet")
    grid = label_grid(
        build_grid(accounts, observation_dates(cfg.first_observation, as_of)),
        accounts,
        cfg.lead_days,
        cfg.horizon_days,
        as_of,
    )
    con = connect(cfg.engine, cfg.spark_master, cfg.duckdb_memory_limit)
    tables = register_tables(con, clean_dir)
    expr = build_features(tables, ibis.memtable(grid[["account_id", "observation_date"]]), cfg)
    features = con.to_pyarrow(expr).to_pandas()
    features["observation_date"] = pd.to_datetime(features["observation_date"], utc=True).astype(
        grid["observation_date"].dtype
    )
    table = grid.merge(features, on=["account_id", "observation_date"], how="left", validate="1:1")
    return table.sort_values(["observation_date", "account_id"], ignore_index=True)


def write_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write Parquet to a temporary file and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, tmp, compression="zstd", row_group_size=1_000_000)
    os.replace(tmp, path)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    params = load_params()
    start = time.perf_counter()
    table = featurize(params.paths.clean, params.featurize)
    write_atomically(table, params.paths.features / OUTPUT)
    log.info(
        "featurize: %d rows x %d features on %s in %.1f s -> %s",
        len(table),
        table.shape[1] - 3,
        params.featurize.engine,
        time.perf_counter() - start,
        params.paths.features / OUTPUT,
    )


if __name__ == "__main__":
    main()
