"""Stage `featurize`: clean Parquet -> one row per (account, observation date) with label and features.

The engine (DuckDB or Spark) comes from `featurize.engine`; the feature definitions are the same ibis
expressions either way, and so are the grid and the labels. Output is sorted by observation_date, account_id
and written atomically.
"""

from __future__ import annotations

import gc
import logging
import time
from pathlib import Path

import pyarrow.parquet as pq

from features.build import build_labelled_features
from features.engine import connect, register_tables, write_parquet
from ingest.atomic import atomic_file
from ingest.contract import read_as_of
from pipeline import setup_logging
from pipeline.config import Featurize, load_params

log = logging.getLogger(__name__)

OUTPUT = "features.parquet"


def featurize(clean_dir: Path, cfg: Featurize, out: Path) -> None:
    """Write the labelled feature table for `clean_dir` to the Parquet file `out`, atomically.

    The engine writes the file (see `write_parquet`); pandas is not involved.
    """
    con = connect(cfg.engine, cfg.spark_master, cfg.duckdb_memory_limit, cfg.spark_conf)
    expr = build_labelled_features(register_tables(con, clean_dir), cfg, read_as_of(clean_dir))
    with atomic_file(out) as tmp:
        write_parquet(con, expr, tmp)


def quiet_collector() -> None:
    """Keep Python's cyclic garbage collector out of this short process's way.

    - `gc.freeze` first moves everything allocated so far (the imported libraries, which live as long as
      the process) out of the collector's sight, so no collection walks them again.
    - `gc.disable` then stops the collections that building and compiling the feature expression (some
      100k objects) would trigger. What that leaves in reference cycles, about 30k objects (3 MB)
      whatever the input's size, is freed when the process ends.

    At 10M events the two save about 0.3 s and 0.1 s of a 7 s run. Call this in a stage's entry point,
    after the imports, never in library code.
    """
    gc.freeze()
    gc.disable()


def main() -> None:
    quiet_collector()
    setup_logging()
    params = load_params()
    start = time.perf_counter()
    out = params.paths.features / OUTPUT
    featurize(params.paths.clean, params.featurize, out)
    meta = pq.read_metadata(out)
    log.info(
        "featurize: %d rows x %d features on %s in %.1f s -> %s",
        meta.num_rows,
        meta.num_columns - 3,
        params.featurize.engine,
        time.perf_counter() - start,
        out,
    )


if __name__ == "__main__":
    main()
