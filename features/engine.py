"""Engines: the same ibis expressions run on embedded DuckDB (default) or Apache Spark."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend

from features.build import TABLES

log = logging.getLogger(__name__)


def connect(engine: str, spark_master: str = "local[2]", duckdb_memory_limit: str = "3GB") -> BaseBackend:
    """An ibis backend for `engine` ("duckdb" or "spark"); both run with the session time zone UTC.

    DuckDB spills to disk beyond `duckdb_memory_limit`, which keeps large inputs inside a small budget.
    """
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        con.raw_sql("SET TimeZone = 'UTC'")  # ibis's default too; day numbers must not follow the machine
        con.raw_sql("SET enable_progress_bar = false")  # it writes to the stage's log otherwise
        con.raw_sql(f"SET memory_limit = '{duckdb_memory_limit}'")
        con.raw_sql("SET preserve_insertion_order = false")  # output is sorted explicitly; saves memory
        return con
    if engine == "spark":
        return ibis.pyspark.connect(start_spark_session(spark_master))
    raise ValueError(f"unknown engine {engine!r}: expected 'duckdb' or 'spark'")


def start_spark_session(master: str):  # -> pyspark.sql.SparkSession (imported lazily: Spark is optional)
    """A Spark session (reused when one is active) with UTC time and no web UI."""
    from pyspark.sql import SparkSession

    log.info("starting Spark session on %s", master)
    return (
        SparkSession.builder.master(master)
        .appName("churn-featurize")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )


def register_tables(con: BaseBackend, clean_dir: str | Path) -> dict[str, ir.Table]:
    """The clean Parquet files as (lazy) ibis tables on `con`, keyed by table name."""
    tables = {}
    for name in TABLES:
        path = Path(clean_dir) / f"{name}.parquet"
        if not path.exists():
            raise FileNotFoundError(f"clean input {path} is missing")
        tables[name] = con.read_parquet(str(path), table_name=name)
    history = Path(clean_dir) / "account_history.parquet"
    if history.exists():  # optional: seats and MRR over time
        tables["account_history"] = con.read_parquet(str(history), table_name="account_history")
    return tables


def arrow_batches(con: BaseBackend, expr: ir.Table, batch_rows: int = 1_000_000) -> Iterator[pa.RecordBatch]:
    """Run `expr` on `con` and yield its rows as Arrow batches with the expression's schema.

    The schema cast matters on DuckDB, which returns integer sums as 128-bit decimals. There the
    batches stream from DuckDB's own Arrow reader: ibis's ``to_pyarrow`` does the same cast but
    imports pandas, about a second of the stage's start-up. Spark's result is collected first.
    """
    schema = expr.schema().to_pyarrow()
    if con.name == "duckdb":
        batches = con.con.sql(con.compile(expr)).to_arrow_reader(batch_size=batch_rows)
    else:
        batches = con.to_pyarrow(expr).to_batches(max_chunksize=batch_rows)
    for batch in batches:
        yield batch.cast(schema)
