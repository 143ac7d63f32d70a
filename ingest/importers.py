"""Importers: turn the shapes users have into raw contract tables, selected by `validate.importer`.

`contract`: the raw directory already holds accounts, logins, record_events and feature_events files.
`subscriptions`: a subscriptions table plus an events table, mapped by `<raw>/mapping.yaml`.
`segment`: a Segment-style track/group export plus accounts or subscriptions, mapped likewise.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from ingest.contract import OPTIONAL_TABLES, TABLES
from ingest.errors import InputError, Problem
from ingest.read import SUFFIXES, find_table_file, read_table_file
from ingest.validate import ImportResult, RawTable, check_columns

log = logging.getLogger(__name__)

IMPORTERS = ("contract", "subscriptions", "segment")


def import_raw(
    raw_dir: Path, importer: str, mapping: Path, churn_gap_days: int, as_of: dt.date | None = None
) -> ImportResult:
    """Read `raw_dir` with the chosen importer; `mapping` is relative to `raw_dir`.

    `as_of` (data.as_of) is needed by importers that derive churn; None means the day after the latest event.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise InputError([Problem(str(raw_dir), None, "the raw data directory does not exist")])
    if importer == "contract":
        return ImportResult(import_contract(raw_dir), (), as_of)
    mapping_path = raw_dir / mapping
    if importer == "subscriptions":
        from ingest.subscriptions import import_subscriptions

        return import_subscriptions(raw_dir, mapping_path, churn_gap_days, as_of)
    if importer == "segment":
        from ingest.segment import import_segment

        return import_segment(raw_dir, mapping_path, churn_gap_days, as_of)
    raise InputError(f"unknown importer '{importer}'; expected one of {', '.join(IMPORTERS)}")


def import_contract(raw_dir: Path) -> dict[str, RawTable]:
    """One file per contract table (`<name>.parquet`, `.csv` or `.jsonl`); all problems reported at once."""
    raws, problems = {}, []
    for table in TABLES:
        try:
            path = find_table_file(raw_dir, table.name)
            raws[table.name] = RawTable.from_frame(table, path.name, read_table_file(path))
        except InputError as exc:
            problems.extend(exc.problems)
    for table in OPTIONAL_TABLES:
        # Optional tables are read when present; a broken one is reported like any other file.
        if any((raw_dir / f"{table.name}{suffix}").is_file() for suffix in SUFFIXES):
            try:
                path = find_table_file(raw_dir, table.name)
                raws[table.name] = RawTable.from_frame(table, path.name, read_table_file(path))
            except InputError as exc:
                problems.extend(exc.problems)
    if problems:
        # the files that did read are checked too, so that one run names every file's problem
        raise InputError([*problems, *(p for raw in raws.values() for p in check_columns(raw))])
    return raws
