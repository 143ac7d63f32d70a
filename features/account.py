"""Account features: tenure, segment, plan, seats, revenue, renewal timing; and the per-(account, t) base."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.windows import KEYS, day_of, ratio

# Average lengths of a contract period; renewal timing is approximate to within a day or two.
_YEAR_DAYS = 365.25
_MONTH_DAYS = _YEAR_DAYS / 12


def build_base(grid: ir.Table, accounts: ir.Table) -> ir.Table:
    """The grid with its day number and the account attributes every family needs."""
    g = grid.select("account_id", "observation_date", t_day=day_of(grid.observation_date))
    a = accounts.select(
        _acct=accounts.account_id,
        segment=accounts.segment.cast("string"),
        plan=accounts.plan.cast("string"),
        contract_type=accounts.contract_type.cast("string"),
        seats=accounts.seats.cast("int64"),
        mrr=accounts.mrr.cast("float64"),
        start_day=accounts.contract_start.epoch_days(),
    )
    return g.join(a, g.account_id == a._acct).drop("_acct")


def days_to_renewal(tenure_days: ir.IntegerValue, contract_type: ir.StringValue) -> ir.IntegerValue:
    """Days to the next anniversary of the contract start (yearly for annual, monthly otherwise).

    Derived from the start date rather than the accounts table's `renewal_date`, which is a snapshot
    as of the data cut-off: at an earlier t it would point at a future renewal (or the churn) and leak.
    """
    period = ibis.ifelse(contract_type == "annual", _YEAR_DAYS, _MONTH_DAYS)
    tenure = tenure_days.cast("float64")
    return ((tenure / period).ceil() * period - tenure).ceil().cast("int64")


def build_account_features(base: ir.Table) -> ir.Table:
    """Account attributes at t. Seats and MRR are the accounts table's snapshot values."""
    tenure = base.t_day - base.start_day
    return base.select(
        *KEYS,
        tenure_days=tenure.cast("int64"),
        segment=base.segment,
        plan=base.plan,
        contract_type=base.contract_type,
        seats=base.seats,
        mrr=base.mrr,
        arr=base.mrr * 12.0,
        mrr_per_seat=ratio(base.mrr, base.seats),
        days_to_renewal=days_to_renewal(tenure, base.contract_type),
    )
