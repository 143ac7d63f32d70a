"""Every case of the bad-input corpus (tests/corpus/cases.yaml) ends in its documented outcome."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ingest.contract import OPTIONAL_TABLES, TABLES
from ingest.errors import InputError
from ingest.importers import import_raw
from ingest.validate import validate_tables
from ingest.write import write_clean

CORPUS = Path(__file__).parent / "corpus"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))


def build_case(name: str, case: dict, target: Path) -> Path:
    """The base data set with the case's files put in place of the base files of the same table."""
    target.mkdir()
    case_dir = CORPUS / name
    overrides = sorted(case_dir.iterdir()) if case_dir.is_dir() else []
    replaced = {p.name.split(".")[0] for p in overrides}
    for path in sorted((CORPUS / "_base").iterdir()):
        drop = path.name.split(".")[0] in replaced and path.name not in case.get("keep_base", [])
        if not drop and path.name not in case.get("remove", []):
            shutil.copy(path, target / path.name)
    for path in overrides:
        shutil.copy(path, target / path.name)
    return target


def run_case(raw_dir: Path, clean_dir: Path, case: dict) -> None:
    as_of = dt.date.fromisoformat(case["as_of"]) if case.get("as_of") else None
    imported = import_raw(raw_dir, "contract", Path("mapping.yaml"), churn_gap_days=30, as_of=as_of)
    write_clean(validate_tables(imported.raws, imported.as_of, max_quarantine_share=0.5), clean_dir)


def test_every_case_directory_is_listed() -> None:
    dirs = {p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert dirs <= set(CASES)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["expect"] == "error"])
def test_error_case_stops_with_a_clear_message(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    raw_dir = build_case(name, case, tmp_path / "raw")
    with pytest.raises(InputError) as info:
        run_case(raw_dir, tmp_path / "clean", case)
    message = str(info.value)
    for expected in case["message"]:
        assert expected in message, f"{expected!r} not in:\n{message}"
    assert len(message.splitlines()) <= 12
    assert not (tmp_path / "clean").exists()


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c["expect"] == "ok"])
def test_ok_case_completes_with_rows_counted(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    raw_dir = build_case(name, case, tmp_path / "raw")
    run_case(raw_dir, tmp_path / "clean", case)
    counts = yaml.safe_load((tmp_path / "clean" / "counts.json").read_text())
    quarantine = pd.read_parquet(tmp_path / "clean" / "quarantine.parquet")
    supplied = [t for t in OPTIONAL_TABLES if t.name in counts]
    for table in (*TABLES, *supplied):
        c = counts[table.name]
        assert c["read"] == c["used"] + sum(c["quarantined"].values())
        assert c["quarantined"] == case.get("quarantined", {}).get(table.name, {})
        by_reason = quarantine[quarantine["table"] == table.name]["reason"].value_counts().to_dict()
        assert by_reason == c["quarantined"]
        if table.name in case.get("used", {}):
            assert c["used"] == case["used"][table.name]
        assert len(pd.read_parquet(tmp_path / "clean" / f"{table.name}.parquet")) == c["used"]
