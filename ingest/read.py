"""Read raw input files (Parquet, CSV, JSON lines) into frames of raw values, failing with a clear message.

CSV values are read as strings so that ids keep their leading zeros; parsing happens in validation.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ingest.errors import InputError, Problem

log = logging.getLogger(__name__)

SUFFIXES = (".parquet", ".csv", ".jsonl", ".ndjson", ".json")
_DELIMITERS = (",", ";", "\t", "|")


def find_table_file(directory: Path, stem: str) -> Path:
    """Return the one file `<stem>.<suffix>` in `directory`; none or several is an InputError."""
    found = [
        directory / f"{stem}{suffix}" for suffix in SUFFIXES if (directory / f"{stem}{suffix}").is_file()
    ]
    if not found:
        raise InputError(
            [
                Problem(
                    str(directory), None, f"no '{stem}' file; expected one of {stem}{{{','.join(SUFFIXES)}}}"
                )
            ]
        )
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise InputError([Problem(str(directory), None, f"several '{stem}' files ({names}); keep one")])
    return found[0]


def read_table_file(path: Path) -> pd.DataFrame:
    """Read one raw file by its suffix; an empty, truncated or unreadable file raises InputError."""
    if path.stat().st_size == 0:
        raise InputError([Problem(path.name, None, "the file is empty (0 bytes), not even a header")])
    try:
        if path.suffix == ".parquet":
            frame = _read_parquet(path)
        elif path.suffix == ".csv":
            frame = _read_csv(path)
        else:
            frame = _read_json_lines(path)
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError) as exc:
        # Arrow's messages are long; the first line says what is wrong (truncated, bad magic, bad row).
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kind = path.suffix.lstrip(".").upper()
        first_line = first_line.replace(f"'{path}'", path.name).replace(str(path), path.name)
        if "magic bytes" in first_line:
            first_line = "not a complete Parquet file (truncated, still being written, or another format)"
        if isinstance(exc, UnicodeDecodeError) or "UTF8" in first_line:
            first_line = f"not UTF-8 text; save it as UTF-8 ({first_line})"
        raise InputError([Problem(path.name, None, f"cannot be read as {kind}: {first_line}")]) from exc
    frame.columns = normalise_headers(path.name, list(frame.columns))
    log.info("read %s: %d rows, %d columns", path.name, len(frame), frame.shape[1])
    return frame


def normalise_headers(file: str, headers: list[str]) -> list[str]:
    """Trim and lower-case column names; two columns that collide afterwards are an InputError."""
    names = [str(h).strip().lower() for h in headers]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError([Problem(file, d, "appears more than once in the header") for d in dupes])
    return names


def _read_parquet(path: Path) -> pd.DataFrame:
    table = pq.read_table(path)
    # Dates as datetime64 rather than Python objects: vectorised parsing downstream.
    return table.to_pandas(date_as_object=False)


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most fields (Excel in many locales writes ';')."""
    return max(_DELIMITERS, key=lambda d: (header_line.count(d), d == ","))


def _read_csv(path: Path) -> pd.DataFrame:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header_line = fh.readline().rstrip("\r\n")
    if not header_line.strip():
        raise InputError([Problem(path.name, None, "the first line (the header) is empty")])
    delimiter = sniff_delimiter(header_line)
    # Every column is read as a string (ids keep leading zeros); parsing happens in validation.
    columns = pd.read_csv(path, sep=delimiter, nrows=0, encoding="utf-8-sig").columns.tolist()
    try:
        table = _read_csv_strings(path, delimiter, columns)
    except pa.ArrowInvalid as exc:
        ragged = ragged_rows(path, delimiter, len(columns))
        if ragged is None:
            raise
        raise InputError([ragged]) from exc
    return table.to_pandas()


def _read_csv_strings(path: Path, delimiter: str, columns: list[str]) -> pa.Table:
    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns},
            # Only an empty field is missing: 'NA' or 'null' may be real ids, and 'n/a' a real mistake.
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def ragged_rows(path: Path, delimiter: str, n_columns: int) -> Problem | None:
    """Every row of a CSV file with another number of fields than its header, as one problem with line
    numbers (Arrow stops at the first and names no line); None when every row has the header's count."""
    bad = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader, None)
        for fields in reader:
            if fields and len(fields) != n_columns:
                bad.append((reader.line_num, len(fields), delimiter.join(fields)))
    if not bad:
        return None
    examples = tuple(f"line {line}: {n} fields {text[:60]!r}" for line, n, text in bad[:3])
    return Problem(
        path.name,
        None,
        f"rows with another number of fields than the header's {n_columns}",
        len(bad),
        examples,
    )


def _read_json_lines(path: Path) -> pd.DataFrame:
    # pandas rather than Arrow: exports mix types within a field (a number here, a string there).
    # dtype=False leaves values as read, dates included (convert_dates is deprecated in pandas 3.1).
    try:
        return pd.read_json(path, lines=True, dtype=False, encoding="utf-8-sig")
    except ValueError as exc:
        bad = first_bad_json_line(path)
        if bad is None:
            raise
        raise ValueError(bad) from exc


def first_bad_json_line(path: Path) -> str | None:
    """Which line is not a JSON object, and why: pandas says only 'at position 92' (a byte offset)."""
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as err:
                start = max(0, err.pos - 40)  # the text around the fault
                near = ("…" if start else "") + line[start : err.pos + 40].strip()
                return f"line {number} is not JSON ({err.msg}, column {err.colno}): {near}"
            if not isinstance(value, dict):
                return f"line {number} is not a JSON object: {line.strip()[:80]}"
    return None
