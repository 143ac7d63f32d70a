"""The observation grid and the churn label, as ibis expressions (they run where the features run).

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
from collections.abc import Sequence

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.types as ir

from features.windows import day_of

_EPOCH = dt.date(1970, 1, 1)


def observation_dates(first: dt.date, as_of: dt.date) -> list[dt.date]:
    """Month starts from the first one on or after ``first`` to the last one on or before ``as_of``."""
    year, month = (first.year, first.month) if first.day == 1 else _next_month(first.year, first.month)
    dates = []
    while (date := dt.date(year, month, 1)) <= as_of:
        dates.append(date)
        year, month = _next_month(year, month)
    return dates


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def build_grid(accounts: ir.Table, dates: Sequence[dt.date]) -> ir.Table:
    """(account_id, observation_date) for every account active at each observation date.

    `observation_date` is midnight UTC; rows are in (observation_date, account_id) order. The dates
    enter the query as a literal array (``UNNEST`` on DuckDB, ``explode`` on Spark), not as an
    in-memory table: building an Arrow table from Python values would make pyarrow import pandas,
    about a second of the stage's start-up.
    """
    days = ibis.literal([(d - _EPOCH).days for d in dates], type="array<int64>")
    pairs = accounts.select(
        "account_id",
        _start=accounts.contract_start.epoch_days(),
        _churn=accounts.churn_date.epoch_days(),
        _t=days.unnest(),
    )
    active = pairs.filter(pairs._start < pairs._t, pairs._churn.isnull() | (pairs._churn >= pairs._t))
    midnight = (active._t * 86_400).as_timestamp("s").cast(dt_.Timestamp(timezone="UTC", scale=6))
    return active.select("account_id", observation_date=midnight).order_by(["observation_date", "account_id"])


def label_grid(
    grid: ir.Table, accounts: ir.Table, lead_days: int, horizon_days: int, as_of: dt.date
) -> ir.Table:
    """`grid` with a nullable int8 ``label`` column (1 = churned within the horizon), same row order."""
    churn_days = accounts.select(_acct=accounts.account_id, _churn=accounts.churn_date.epoch_days())
    joined = grid.left_join(churn_days, grid.account_id == churn_days._acct)
    window_start = day_of(joined.observation_date) + lead_days
    window_end = window_start + horizon_days
    known = window_end <= (as_of - _EPOCH).days
    churn = joined._churn
    churned_in_lead = churn.notnull() & (churn < window_start)
    churned_in_window = churn.notnull() & (churn >= window_start) & (churn < window_end)
    label = ibis.cases((~known | churned_in_lead, ibis.null("int8")), (churned_in_window, 1), else_=0).cast(
        "int8"
    )
    return joined.select(*grid.columns, label=label).order_by(["observation_date", "account_id"])
