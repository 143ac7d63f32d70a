"""Observation grid and label edges: horizon boundaries, lead time, censoring, churned accounts."""

import datetime as dt

import pandas as pd
import pytest

from features.labels import build_grid, label_grid, observation_dates

T = dt.date(2024, 3, 1)
AS_OF = dt.date(2025, 1, 1)


def _accounts(churn_date, start=dt.date(2023, 1, 1)):
    return pd.DataFrame(
        {
            "account_id": ["a"],
            "contract_start": [start],
            "churn_date": pd.Series([churn_date], dtype="object"),
        }
    )


def _label(churn_date, lead=0, horizon=90, as_of=AS_OF):
    accounts = _accounts(churn_date)
    grid = build_grid(accounts, [T])
    return label_grid(grid, accounts, lead, horizon, as_of)["label"].iloc[0]


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
def test_label_at_horizon_edges(churn_date, expected):
    assert _label(churn_date) == expected


@pytest.mark.parametrize(
    ("churn_date", "expected"),
    [
        (T + dt.timedelta(days=6), pd.NA),  # churns inside the lead time: too late to act, not labelled
        (T + dt.timedelta(days=7), 1),  # first day of the horizon after a 7-day lead
        (T + dt.timedelta(days=96), 1),
        (T + dt.timedelta(days=97), 0),
    ],
)
def test_label_with_lead_time(churn_date, expected):
    label = _label(churn_date, lead=7)
    assert (label is pd.NA and expected is pd.NA) or label == expected


def test_label_is_null_until_the_horizon_has_passed():
    assert _label(None, as_of=T + dt.timedelta(days=89)) is pd.NA
    assert _label(None, as_of=T + dt.timedelta(days=90)) == 0


def test_grid_holds_only_accounts_active_at_the_date():
    accounts = pd.DataFrame(
        {
            "account_id": ["before", "on", "after", "churned", "churns_on_t"],
            "contract_start": [
                dt.date(2024, 1, 1),
                T,
                dt.date(2024, 4, 1),
                dt.date(2023, 1, 1),
                dt.date(2023, 1, 1),
            ],
            "churn_date": [None, None, None, dt.date(2024, 2, 29), T],
        }
    )
    grid = build_grid(accounts, [T])
    assert grid["account_id"].tolist() == ["before", "churns_on_t"]
    assert str(grid["observation_date"].dtype) == "datetime64[us, UTC]"


def test_observation_dates_are_month_starts_up_to_as_of():
    assert observation_dates(dt.date(2024, 1, 15), dt.date(2024, 4, 1)) == [
        dt.date(2024, 2, 1),
        dt.date(2024, 3, 1),
        dt.date(2024, 4, 1),
    ]
