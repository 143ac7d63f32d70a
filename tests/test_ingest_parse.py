"""Parsing raw values into contract types: the edge cases in small tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ingest.errors import InputError
from ingest.parse import is_missing, parse_date, parse_id, parse_number, parse_timestamp
from ingest.read import normalise_headers, sniff_delimiter


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-01T10:00:00Z", "2024-03-01 10:00:00+00:00"),
        ("2024-03-01T12:00:00+02:00", "2024-03-01 10:00:00+00:00"),
        ("2024-03-01 10:00:00", "2024-03-01 10:00:00+00:00"),  # naive means UTC
        ("2024-03-01", "2024-03-01 00:00:00+00:00"),
        ("2024-03-01T10:00:00.123456Z", "2024-03-01 10:00:00.123456+00:00"),
    ],
)
def test_timestamps_parse_to_utc(raw: str, expected: str) -> None:
    parsed, bad = parse_timestamp(pd.Series([raw]), "f.csv", "timestamp")
    assert str(parsed.iloc[0]) == expected
    assert not bad.any()


@pytest.mark.parametrize("raw", ["yesterday", "2024-13-01", "01/03/2024 10:00"])
def test_unparseable_timestamps_are_flagged(raw: str) -> None:
    parsed, bad = parse_timestamp(pd.Series([raw]), "f.csv", "timestamp")
    assert bad.tolist() == [True] and parsed.isna().all()


def test_missing_timestamp_is_missing_not_unparseable() -> None:
    _, bad = parse_timestamp(pd.Series([None, ""], dtype="str"), "f.csv", "timestamp")
    assert bad.tolist() == [False, False]


def test_naive_and_zoned_timestamp_columns_become_utc() -> None:
    naive = pd.Series(pd.to_datetime(["2024-03-01 10:00"]))
    berlin = naive.dt.tz_localize("Europe/Berlin")
    assert str(parse_timestamp(naive, "f", "t")[0].iloc[0]) == "2024-03-01 10:00:00+00:00"
    assert str(parse_timestamp(berlin, "f", "t")[0].iloc[0]) == "2024-03-01 09:00:00+00:00"


def test_epoch_numbers_are_refused_with_the_column_name() -> None:
    with pytest.raises(InputError, match=r"f\.parquet, column 'timestamp': is numeric"):
        parse_timestamp(pd.Series([1709287200]), "f.parquet", "timestamp")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (pd.Series(["007", "7", " A1", "a1"]), ["007", "7", " A1", "a1"]),  # exact, no trimming or folding
        (pd.Series([7, 42], dtype="int64"), ["7", "42"]),
        (pd.Series([7.0, None]), ["7", None]),  # an integer column with nulls
    ],
)
def test_ids_are_exact_strings(raw: pd.Series, expected: list) -> None:
    parsed = parse_id(raw, "f", "account_id")
    assert [None if pd.isna(v) else v for v in parsed] == expected


def test_fractional_ids_are_refused() -> None:
    with pytest.raises(InputError, match="fractional ids"):
        parse_id(pd.Series([1.5]), "f", "account_id")


def test_dates_with_a_time_of_day_are_bad() -> None:
    _, bad = parse_date(pd.Series(["2024-03-01", "2024-03-01T00:00:00", "2024-03-01T15:30:00"]), "f", "d")
    assert bad.tolist() == [False, False, True]


def test_numbers_from_text() -> None:
    parsed, bad = parse_number(pd.Series(["10", " 2.5 ", "n/a", "", "2500,0"]))
    assert bad.tolist() == [False, False, True, False, True]
    assert parsed.iloc[1] == 2.5


def test_blank_strings_are_missing() -> None:
    assert is_missing(pd.Series(["a", "", "  ", None], dtype="str")).tolist() == [False, True, True, True]
    assert is_missing(pd.Series([1.0, np.nan])).tolist() == [False, True]


@pytest.mark.parametrize(
    ("header", "delimiter"), [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("a", ",")]
)
def test_sniff_delimiter(header: str, delimiter: str) -> None:
    assert sniff_delimiter(header) == delimiter


def test_headers_are_trimmed_and_lower_cased_and_collisions_named() -> None:
    assert normalise_headers("f", [" Account_ID ", "user_id"]) == ["account_id", "user_id"]
    with pytest.raises(InputError, match="'account_id': appears more than once"):
        normalise_headers("f.csv", ["account_id", "ACCOUNT_ID"])
