"""The observation grid and the churn label.

Conventions, stated once:

- Observation dates are month starts, 00:00 UTC. A feature at date t uses only events with timestamp < t.
- An account is in the grid at t when ``contract_start < t`` and it has not churned before t
  (``churn_date`` is null or ``churn_date >= t``).
- ``label = 1`` (churned) when ``t + lead <= churn_date < t + lead + horizon``; ``label = 0`` when the
  account has not churned by ``t + lead + horizon``. The label is known only when
  ``t + lead + horizon <= as_of``; otherwise it is null (the snapshot can be scored, not trained on).
  An account that churns inside the lead time ``[t, t + lead)`` is too late to save: its label is null.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd


def observation_dates(first: dt.date, as_of: dt.date) -> list[dt.date]:
    """Month starts from the month of ``first`` to the last month start on or before ``as_of``."""
    start = pd.Timestamp(first).to_period("M").to_timestamp()
    if start.date() < first:
        start += pd.offsets.MonthBegin(1)
    months = pd.date_range(start, pd.Timestamp(as_of), freq="MS")
    return [d.date() for d in months]


def build_grid(accounts: pd.DataFrame, dates: list[dt.date]) -> pd.DataFrame:
    """(account_id, observation_date) for every account active at each observation date."""
    start = pd.to_datetime(accounts["contract_start"])
    churn = pd.to_datetime(accounts["churn_date"])
    frames = []
    for date in dates:
        t = pd.Timestamp(date)
        active = (start < t) & (churn.isna() | (churn >= t))
        frames.append(pd.DataFrame({"account_id": accounts.loc[active, "account_id"], "observation_date": t}))
    grid = pd.concat(frames, ignore_index=True) if frames else _empty_grid()
    grid["observation_date"] = grid["observation_date"].dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    return grid.sort_values(["observation_date", "account_id"], ignore_index=True)


def label_grid(
    grid: pd.DataFrame, accounts: pd.DataFrame, lead_days: int, horizon_days: int, as_of: dt.date
) -> pd.DataFrame:
    """Return the grid with a nullable ``label`` column (1 = churned within the horizon)."""
    churn = accounts.set_index("account_id")["churn_date"]
    churn_at = pd.to_datetime(grid["account_id"].map(churn)).dt.tz_localize("UTC")
    t = grid["observation_date"]
    window_start = t + pd.Timedelta(days=lead_days)
    window_end = window_start + pd.Timedelta(days=horizon_days)
    known = window_end <= pd.Timestamp(as_of, tz="UTC")
    churned_in_window = churn_at.notna() & (churn_at >= window_start) & (churn_at < window_end)
    churned_in_lead = churn_at.notna() & (churn_at < window_start)
    label = pd.Series(churned_in_window.astype("int8"), index=grid.index).astype("Int8")
    label[~known | churned_in_lead] = pd.NA
    return grid.assign(label=label)


def _empty_grid() -> pd.DataFrame:
    return pd.DataFrame(
        {"account_id": pd.Series(dtype="str"), "observation_date": pd.Series(dtype="datetime64[us]")}
    )
