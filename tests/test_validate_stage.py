"""The validate stage as users meet it: exit status and message, exact output schema, determinism, faults."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import ingest.write
from ingest.contract import OPTIONAL_TABLES, TABLES
from ingest.errors import InputError
from ingest.importers import import_contract
from ingest.validate import validate_tables
from ingest.write import arrow_schema, write_clean

REPO = Path(__file__).resolve().parents[1]
BASE = Path(__file__).parent / "corpus" / "_base"


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(BASE, target)
    return target


def run_stage(tmp_path: Path, raw: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m pipeline.validate` in a work dir whose params.yaml points at `raw`."""
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    params["paths"]["raw"], params["paths"]["clean"] = str(raw), str(tmp_path / "clean")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CHURN_DEBUG"}
    env.update({"PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore", **(env_extra or {})})
    cmd = [sys.executable, "-m", "pipeline.validate"]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def validate_dir(raw: Path, clean: Path, as_of: dt.date | None = None) -> None:
    write_clean(validate_tables(import_contract(raw), as_of, 0.5), clean)


def test_missing_column_fails_and_names_the_column_and_the_file(raw_dir: Path, tmp_path: Path) -> None:
    text = (raw_dir / "logins.csv").read_text().replace("user_id", "user")
    (raw_dir / "logins.csv").write_text(text)
    with pytest.raises(InputError, match=r"logins\.csv: missing required column 'user_id'"):
        validate_dir(raw_dir, tmp_path / "clean")


def test_stage_exits_2_with_a_short_message_and_no_traceback(raw_dir: Path, tmp_path: Path) -> None:
    (raw_dir / "logins.csv").write_text((raw_dir / "logins.csv").read_text().replace("user_id", "user"))
    result = run_stage(tmp_path, raw_dir)
    assert result.returncode == 2
    assert "logins.csv: missing required column 'user_id'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "clean").exists()


def test_debug_flag_shows_the_traceback(raw_dir: Path, tmp_path: Path) -> None:
    (raw_dir / "logins.csv").write_text("")
    result = run_stage(tmp_path, raw_dir, {"CHURN_DEBUG": "1"})
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "InputError" in result.stderr


def test_stage_writes_every_output(raw_dir: Path, tmp_path: Path) -> None:
    result = run_stage(tmp_path, raw_dir)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "clean").iterdir())
    expected = [f"{t.name}.parquet" for t in (*TABLES, *OPTIONAL_TABLES)]
    expected += ["counts.json", "manifest.json", "quarantine.parquet"]
    assert names == sorted(expected)


def test_outputs_have_exactly_the_contract_types(raw_dir: Path, tmp_path: Path) -> None:
    validate_dir(raw_dir, tmp_path / "clean")
    for table in (*TABLES, *OPTIONAL_TABLES):
        schema = pq.read_schema(tmp_path / "clean" / f"{table.name}.parquet")
        assert schema.remove_metadata() == arrow_schema(table)
    logins = pq.read_table(tmp_path / "clean" / "logins.parquet")
    assert logins.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")


def test_logs_are_sorted_by_account_time_user(raw_dir: Path, tmp_path: Path) -> None:
    validate_dir(raw_dir, tmp_path / "clean")
    logins = pq.read_table(tmp_path / "clean" / "logins.parquet").to_pandas()
    keys = list(zip(logins["account_id"], logins["timestamp"], logins["user_id"], strict=True))
    assert keys == sorted(keys)


def test_same_input_gives_byte_identical_output(raw_dir: Path, tmp_path: Path) -> None:
    validate_dir(raw_dir, tmp_path / "a")
    validate_dir(raw_dir, tmp_path / "b")
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


@pytest.mark.parametrize(("as_of", "expected"), [(None, "2024-03-11"), (dt.date(2024, 6, 1), "2024-06-01")])
def test_manifest_records_the_resolved_as_of(
    raw_dir: Path, tmp_path: Path, as_of: dt.date | None, expected: str
) -> None:
    validate_dir(raw_dir, tmp_path / "clean", as_of)
    manifest = json.loads((tmp_path / "clean" / "manifest.json").read_text())
    assert manifest["as_of"] == expected  # default: the day after the latest event (2024-03-10 23:59:59)


def test_interrupted_write_keeps_previous_output_and_rerun_recovers(
    raw_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = tmp_path / "clean"
    validate_dir(raw_dir, clean)
    before = {p.name: p.read_bytes() for p in clean.iterdir()}
    real_write = ingest.write.write_parquet

    def write_then_die(table: pa.Table, path: Path) -> None:
        real_write(table, path)
        if path.name == "logins.parquet":
            raise KeyboardInterrupt  # as if the stage were stopped mid-write

    monkeypatch.setattr(ingest.write, "write_parquet", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        validate_dir(raw_dir, clean, dt.date(2024, 6, 1))
    assert {p.name: p.read_bytes() for p in clean.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean", "raw"]
    monkeypatch.setattr(ingest.write, "write_parquet", real_write)
    validate_dir(raw_dir, clean, dt.date(2024, 6, 1))
    assert json.loads((clean / "manifest.json").read_text())["as_of"] == "2024-06-01"


KILL_MID_WRITE = """
import os, signal, sys
from pathlib import Path
import ingest.write
from ingest.importers import import_contract
from ingest.validate import validate_tables

real_write = ingest.write.write_parquet

def write_then_die(table, path):
    real_write(table, path)
    if path.name == "logins.parquet":
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup handler runs: as hard as a power cut

ingest.write.write_parquet = write_then_die
raw, clean = Path(sys.argv[1]), Path(sys.argv[2])
ingest.write.write_clean(validate_tables(import_contract(raw), None, 0.5), clean)
"""


def test_killed_stage_leaves_no_partial_output_and_rerun_cleans_up(raw_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-c", KILL_MID_WRITE, str(raw_dir), str(tmp_path / "clean")]
    killed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9
    assert not (tmp_path / "clean").exists()
    assert [p.name for p in tmp_path.glob(".clean.tmp-*")]  # the dead writer's temporary is left ...
    assert run_stage(tmp_path, raw_dir).returncode == 0
    assert not list(tmp_path.glob(".clean.*"))  # ... and the next run removes it
    assert (tmp_path / "clean" / "manifest.json").exists()


def test_stage_says_what_it_quarantined(raw_dir: Path, tmp_path: Path) -> None:
    with open(raw_dir / "logins.csv", "a") as fh:
        fh.write("Z9,u9,2024-03-02T09:00:00Z\n")
    result = run_stage(tmp_path, raw_dir)
    assert result.returncode == 0
    assert "logins.csv: quarantined 1 row: unknown_account 1 (first: row 11)" in result.stderr


def test_an_event_after_now_does_not_set_the_inferred_as_of() -> None:
    from ingest.validate import infer_as_of

    now = pd.Timestamp("2026-01-15 12:00", tz="UTC")
    logins = pd.Series(pd.to_datetime(["2025-12-30 08:00", "2030-01-01 00:00"], utc=True))
    records = pd.Series(pd.to_datetime(["2025-12-31 23:00"], utc=True))
    assert infer_as_of([logins, records], now) == dt.date(2026, 1, 1)
    assert infer_as_of([logins, records], pd.Timestamp("2031-01-01", tz="UTC")) == dt.date(2030, 1, 2)
