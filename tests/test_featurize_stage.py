"""The featurize stage's output file: types from the registry, a nullable int8 label, no pandas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from features.engine import join_spark_parts
from features.registry import feature_specs
from models.encoding import read_features
from pipeline.featurize import featurize

ROOT = Path(__file__).resolve().parents[1]


def test_output_has_the_registry_types_and_a_nullable_label(small_sample, tmp_path):
    clean, cfg = small_sample
    out = tmp_path / "features.parquet"
    featurize(clean, cfg, out)
    schema = pq.read_schema(out)
    assert schema.names[:3] == ["account_id", "observation_date", "label"]
    assert schema.field("observation_date").type == pa.timestamp("us", tz="UTC")
    assert schema.field("label").type == pa.int8()
    expected = {"int64": pa.int64(), "float64": pa.float64(), "string": pa.string()}
    for spec in feature_specs(cfg):
        assert schema.field(spec.name).type == expected[spec.dtype], spec.name
    assert [p.name for p in tmp_path.iterdir()] == ["features.parquet"]  # no temporary left behind

    frame = read_features(out)
    assert str(frame["label"].dtype) == "Int8"
    assert frame["label"].isna().any() and frame["label"].notna().any()
    assert frame.equals(frame.sort_values(["observation_date", "account_id"], ignore_index=True))


def test_the_stage_does_not_import_pandas(small_sample, tmp_path):
    """pandas costs about a second of start-up; the stage streams Arrow batches to Parquet instead."""
    clean, cfg = small_sample
    script = (
        "import sys, datetime as dt\n"
        "from pathlib import Path\n"
        "from pipeline.config import load_params\n"
        "from pipeline.featurize import featurize\n"
        f"cfg = load_params().featurize.model_copy(update={{'first_observation': dt.date.fromisoformat("
        f"'{cfg.first_observation.isoformat()}')}})\n"
        f"featurize(Path({str(clean)!r}), cfg, Path({str(tmp_path / 'f.parquet')!r}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pandas')[:3])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    assert result.stdout.strip() == "[]"


def test_spark_parts_are_joined_in_partition_order_with_the_schema(tmp_path):
    """Spark's part files of a sorted result, some with several row groups and one empty, make one file
    whose rows keep the parts' order and whose types are the expression's."""
    parts = tmp_path / "out.parquet.parts"
    parts.mkdir()
    (parts / "_SUCCESS").touch()
    rows = {"part-00002-x.parquet": [5, 6], "part-00000-x.parquet": [1, 2, 3], "part-00001-x.parquet": []}
    for name, values in rows.items():
        pq.write_table(pa.table({"n": pa.array(values, pa.int32())}), parts / name, row_group_size=2)
    schema = pa.schema([("n", pa.int64())])

    join_spark_parts(parts, tmp_path / "out.parquet", schema)

    joined = pq.read_table(tmp_path / "out.parquet")
    assert joined.schema == schema
    assert joined["n"].to_pylist() == [1, 2, 3, 5, 6]
