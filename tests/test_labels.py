"""Observation grid and label edges: horizon boundaries, lead time, censoring, churned accounts."""

import datetime as dt

import ibis
import pyarrow as pa
import pytest

from features.engine import connect
from features.labels import build_grid, label_grid, observation_dates

T = dt.date(2024, 3, 1)
AS_OF = dt.date(2025, 1, 1)
ACCOUNTS_SCHEMA = {"account_id": "string", "contract_start": "date", "churn_date": "date"}


@pytest.fixture(scope="module")
def con():
    return connect("duckdb")


def _accounts(ids, starts, churn_dates):
    return ibis.memtable(
        {"account_id": ids, "contract_start": starts, "churn_date": churn_dates}, schema=ACCOUNTS_SCHEMA
    )


def _label(con, churn_date, lead=0, horizon=90, as_of=AS_OF):
    accounts = _accounts(["a"], [dt.date(2023, 1, 1)], [churn_date])
    grid = label_grid(build_grid(accounts, [T]), accounts, lead, horizon, as_of)
    return con.to_pyarrow(grid)["label"][0].as_py()  # None when the label is unknown


@pytest.mark.parametrize(
    ("churn_date", "expected"),
    [
        (None, 0),
        (T, 1),  # churn on the observation date is inside [t, t + 90)
        (T + dt.timedelta(days=89), 1),  # last day inside the horizon
        (T + dt.timedelta(days=90), 0),  # first day after the horizon
        (T + dt.timedelta(days=400), 0),
    ],
)
def test_label_at_horizon_edges(con, churn_date, expected):
    assert _label(con, churn_date) == expected


@pytest.mark.parametrize(
    ("churn_date", "expected"),
    [
        (T + dt.timedelta(days=6), None),  # churns inside the lead time: too late to act, not labelled
        (T + dt.timedelta(days=7), 1),  # first day of the horizon after a 7-day lead
        (T + dt.timedelta(days=96), 1),
        (T + dt.timedelta(days=97), 0),
    ],
)
def test_label_with_lead_time(con, churn_date, expected):
    assert _label(con, churn_date, lead=7) == expected


def test_label_is_null_until_the_horizon_has_passed(con):
    assert _label(con, None, as_of=T + dt.timedelta(days=89)) is None
    assert _label(con, None, as_of=T + dt.timedelta(days=90)) == 0


def test_grid_holds_only_accounts_active_at_the_date(con):
    accounts = _accounts(
        ["before", "on", "after", "churned", "churns_on_t"],
        [dt.date(2024, 1, 1), T, dt.date(2024, 4, 1), dt.date(2023, 1, 1), dt.date(2023, 1, 1)],
        [None, None, None, dt.date(2024, 2, 29), T],
    )
    grid = con.to_pyarrow(build_grid(accounts, [T]))
    assert grid["account_id"].to_pylist() == ["before", "churns_on_t"]
    assert grid.schema.field("observation_date").type == pa.timestamp("us", tz="UTC")
    assert grid["observation_date"].to_pylist() == [dt.datetime(2024, 3, 1, tzinfo=dt.UTC)] * 2


def test_grid_orders_by_date_then_account_and_labels_every_row(con):
    later = dt.date(2024, 4, 1)
    accounts = _accounts(["b", "a"], [dt.date(2023, 1, 1)] * 2, [None, dt.date(2024, 3, 15)])
    grid = con.to_pyarrow(label_grid(build_grid(accounts, [T, later]), accounts, 0, 90, AS_OF))
    rows = list(zip(grid["account_id"].to_pylist(), grid["label"].to_pylist(), strict=True))
    assert rows == [("a", 1), ("b", 0), ("b", 0)]  # "a" churned on 2024-03-15: gone by April


def test_an_empty_date_list_gives_an_empty_grid(con):
    accounts = _accounts(["a"], [dt.date(2023, 1, 1)], [None])
    assert con.to_pyarrow(build_grid(accounts, [])).num_rows == 0


def test_observation_dates_are_month_starts_up_to_as_of():
    assert observation_dates(dt.date(2024, 1, 15), dt.date(2024, 4, 1)) == [
        dt.date(2024, 2, 1),
        dt.date(2024, 3, 1),
        dt.date(2024, 4, 1),
    ]


def test_observation_dates_start_on_a_month_start_and_cross_the_year():
    assert observation_dates(dt.date(2024, 11, 1), dt.date(2025, 1, 31)) == [
        dt.date(2024, 11, 1),
        dt.date(2024, 12, 1),
        dt.date(2025, 1, 1),
    ]
    assert observation_dates(dt.date(2024, 12, 2), dt.date(2024, 12, 31)) == []
