"""Leakage: events at or after an observation date never change a feature at that date."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_features import CFG, T, accounts_frame, compute

from features.engine import connect

CON = connect("duckdb")
USERS = ["u1", "u2", "u3"]
OBJECT_TYPES = ["contacts", "tasks"]
FEATURES = ["dashboards", "api", "workflows"]

# Offsets in seconds from t: negative is before t, 0 is exactly at the cutoff.
before = st.integers(min_value=-400 * 86400, max_value=-1)
at_or_after = st.integers(min_value=0, max_value=60 * 86400)


def log_rows(offsets: st.SearchStrategy[int], extra: st.SearchStrategy[tuple]) -> st.SearchStrategy[list]:
    return st.lists(st.tuples(st.sampled_from(USERS), offsets, extra), max_size=12)


def to_events(rows: list, account: str) -> list[tuple]:
    return [(account, user, T + pd.Timedelta(seconds=s), *extra) for user, s, extra in rows]


record_extra = st.tuples(st.sampled_from(OBJECT_TYPES), st.sampled_from(["create", "update", "delete"]))
feature_extra = st.tuples(st.sampled_from(FEATURES))
logs = st.fixed_dictionaries(
    {
        "logins": log_rows(before, st.just(())),
        "records": log_rows(before, record_extra),
        "feature_events": log_rows(before, feature_extra),
    }
)
future = st.fixed_dictionaries(
    {
        "logins": log_rows(at_or_after, st.just(())),
        "records": log_rows(at_or_after, record_extra),
        "feature_events": log_rows(at_or_after, feature_extra),
    }
)


VARIANTS = ("baseline", "added", "moved", "deleted")


def features_of_variants(variants: dict[str, dict[str, list]]) -> dict[str, pd.Series]:
    """One build for all variants: each variant's logs belong to its own (otherwise identical) account."""
    accounts = pd.concat([accounts_frame(account_id=name) for name in variants], ignore_index=True)
    tables = {
        table: [e for name, logs in variants.items() for e in to_events(logs[table], name)]
        for table in ("logins", "records", "feature_events")
    }
    out = compute(**tables, accounts=accounts, con=CON, cfg=CFG).set_index("account_id")
    return {name: out.loc[name] for name in variants}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(past=logs, after=future, moved=future)
def test_events_at_or_after_t_change_nothing(past, after, moved):
    """Adding, moving or deleting events at or after t leaves every feature at t unchanged."""
    rows = features_of_variants(
        {
            "baseline": {k: past[k] + after[k] for k in past},
            "added": {k: past[k] + after[k] + moved[k] for k in past},
            "moved": {k: past[k] + moved[k] for k in past},
            "deleted": past,
        }
    )
    for name in VARIANTS[1:]:
        pd.testing.assert_series_equal(rows["baseline"], rows[name], check_names=False)


def test_an_event_exactly_at_the_cutoff_is_excluded():
    empty = compute(con=CON)
    at_t = compute(
        logins=[("a", "u1", T)],
        records=[("a", "u1", T, "contacts", "create")],
        feature_events=[("a", "u1", T, "dashboards")],
        con=CON,
    )
    pd.testing.assert_frame_equal(empty, at_t)
    one_second_before = compute(logins=[("a", "u1", T - pd.Timedelta(seconds=1))], con=CON)
    assert one_second_before.loc[0, "logins_count_7d"] == 1


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Los_Angeles"])
def test_days_are_utc_days_whatever_the_machine_time_zone(monkeypatch, zone):
    """A bare DuckDB session takes the machine's zone; ours is pinned to UTC, so day numbers and the
    cutoff do not move with the machine."""
    rows = [
        ("a", "u1", T - pd.Timedelta(hours=2)),  # before t in UTC, on t's own day east of UTC
        ("a", "u2", T + pd.Timedelta(hours=2)),  # after t in UTC, on the day before t west of UTC
    ]
    in_utc = compute(logins=rows, con=CON)
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        elsewhere = compute(logins=rows, con=connect("duckdb"))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert in_utc.loc[0, "logins_count_7d"] == 1
    pd.testing.assert_frame_equal(in_utc, elsewhere)
