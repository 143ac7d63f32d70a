"""Vectorised parsing of raw columns into contract types; each returns parsed values and a 'bad' mask.

A value is bad when it is present but cannot be parsed; missing values are reported separately.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from ingest.errors import InputError, Problem, format_examples


def is_missing(raw: pd.Series) -> np.ndarray:
    """Null, or a string that is empty or only spaces (CSV writers emit '' for null)."""
    missing = raw.isna().to_numpy(copy=True)
    if ptypes.is_string_dtype(raw) or raw.dtype == object:
        missing |= raw.astype("str").str.strip().eq("").to_numpy() & ~missing
    return missing


def parse_id(raw: pd.Series, file: str, column: str) -> pd.Series:
    """Ids are opaque strings compared exactly; an integer column becomes its decimal string."""
    if ptypes.is_bool_dtype(raw):
        raise InputError([Problem(file, column, "is boolean; expected an id (string or integer)")])
    if ptypes.is_integer_dtype(raw):
        return raw.astype("Int64").astype("str").where(raw.notna(), None).astype("str")
    if ptypes.is_float_dtype(raw):
        # A float id column is an integer column with nulls, as pandas and some writers produce.
        values = raw.dropna()
        if not np.all(np.mod(values.to_numpy(), 1) == 0):
            bad = values[np.mod(values.to_numpy(), 1) != 0]
            raise InputError([Problem(file, column, "has fractional ids", len(bad), format_examples(bad))])
        return raw.astype("Int64").astype("str").where(raw.notna(), None).astype("str")
    if ptypes.is_datetime64_any_dtype(raw):
        raise InputError([Problem(file, column, "holds timestamps; expected an id")])
    # Mixed objects (JSON: 12 and "012") become their string form; no trimming, no case folding.
    return raw.astype("str").where(raw.notna(), None).astype("str")


def parse_string(raw: pd.Series) -> pd.Series:
    return raw.astype("str").where(raw.notna(), None).astype("str")


def parse_label(raw: pd.Series) -> pd.Series:
    """Category-like text compared after trimming and lower-casing (segment, contract type, action)."""
    return parse_string(raw).str.strip().str.lower()


def parse_timestamp(raw: pd.Series, file: str, column: str) -> tuple[pd.Series, np.ndarray]:
    """To datetime64[us, UTC]. Naive values are UTC; ISO 8601 strings may mix offsets and 'Z'."""
    if ptypes.is_datetime64_any_dtype(raw):
        parsed = raw.dt.tz_localize("UTC") if raw.dt.tz is None else raw.dt.tz_convert("UTC")
        return parsed.astype("datetime64[us, UTC]"), np.zeros(len(raw), dtype=bool)
    if ptypes.is_numeric_dtype(raw) and not ptypes.is_object_dtype(raw):
        # Epoch numbers are ambiguous (s, ms, us); refuse rather than guess.
        raise InputError(
            [
                Problem(
                    file,
                    column,
                    f"is numeric ({raw.dtype}); expected ISO 8601 timestamps or a timestamp type",
                )
            ]
        )
    text = parse_string(raw)
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce").astype("datetime64[us, UTC]")
    bad = parsed.isna().to_numpy() & ~is_missing(raw)
    return parsed, bad


def parse_date(raw: pd.Series, file: str, column: str) -> tuple[pd.Series, np.ndarray]:
    """To datetime64[s] at midnight (written as date32); a time part other than midnight is bad."""
    if ptypes.is_datetime64_any_dtype(raw):
        parsed = raw.dt.tz_convert("UTC").dt.tz_localize(None) if raw.dt.tz is not None else raw
    else:
        if ptypes.is_numeric_dtype(raw) and not ptypes.is_object_dtype(raw):
            raise InputError([Problem(file, column, f"is numeric ({raw.dtype}); expected ISO 8601 dates")])
        parsed = pd.to_datetime(parse_string(raw), format="ISO8601", errors="coerce", utc=True)
        parsed = parsed.dt.tz_localize(None)
    parsed = parsed.astype("datetime64[s]")
    bad = (parsed.isna().to_numpy() & ~is_missing(raw)) | (
        parsed.notna() & (parsed != parsed.dt.normalize())
    ).to_numpy()
    return parsed.where(~bad), bad


def parse_number(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """To float64; a present value that is not a number is bad."""
    if ptypes.is_bool_dtype(raw):
        return raw.astype("float64"), np.ones(len(raw), dtype=bool)
    if ptypes.is_numeric_dtype(raw):
        return raw.astype("float64"), np.zeros(len(raw), dtype=bool)
    parsed = pd.to_numeric(parse_string(raw).str.strip(), errors="coerce").astype("float64")
    bad = parsed.isna().to_numpy() & ~is_missing(raw)
    return parsed, bad
