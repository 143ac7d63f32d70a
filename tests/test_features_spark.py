"""Parity: DuckDB and Spark run the same feature definitions and give the same table on a small sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from features.build import build_labelled_features
from features.engine import connect, register_tables, write_parquet
from features.registry import feature_specs
from ingest.contract import read_as_of

pytest.importorskip("pyspark")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark():
    con = connect("spark", "local[2]", spark_conf={"spark.sql.shuffle.partitions": "2"})
    assert con._session.conf.get("spark.sql.shuffle.partitions") == "2"  # featurize.spark_conf wins
    yield con
    con.disconnect()


def run(con, sample, cfg, out) -> pd.DataFrame:
    """The stage's whole expression (grid, labels and features) on `con`, written as the stage writes it."""
    expr = build_labelled_features(register_tables(con, sample), cfg, read_as_of(sample))
    write_parquet(con, expr, out)
    return pd.read_parquet(out)


def test_duckdb_and_spark_give_the_same_features(small_sample, spark, tmp_path):
    sample, cfg = small_sample
    duck = run(connect("duckdb"), sample, cfg, tmp_path / "duckdb.parquet")
    sprk = run(spark, sample, cfg, tmp_path / "spark.parquet")
    types = {
        name: [(f.name, f.type) for f in pq.read_schema(tmp_path / name)]
        for name in ("duckdb.parquet", "spark.parquet")
    }
    assert types["spark.parquet"] == types["duckdb.parquet"]  # the same file types (nullability may differ)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["duckdb.parquet", "spark.parquet"]  # parts removed
    assert len(duck) > 100 and list(duck.columns) == list(sprk.columns)
    pd.testing.assert_frame_equal(
        duck[["account_id", "observation_date", "label"]], sprk[["account_id", "observation_date", "label"]]
    )
    assert duck["label"].notna().any() and duck["label"].isna().any()  # both kinds of row were compared
    for spec in feature_specs(cfg):
        a, b = duck[spec.name], sprk[spec.name]
        assert a.isna().equals(b.isna()), spec.name
        if spec.dtype == "float64":
            np.testing.assert_allclose(a.dropna(), b.dropna(), rtol=1e-9, atol=0, err_msg=spec.name)
        else:
            assert (a.dropna().to_numpy() == b.dropna().to_numpy()).all(), spec.name
            assert str(a.dtype) == str(b.dtype), spec.name
