"""Account features: tenure, segment, plan, seats, revenue, renewal timing; and the per-(account, t) base."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.windows import KEYS, day_of, pct_change, ratio, without

# Average lengths of a contract period; renewal timing is approximate to within a day or two.
_YEAR_DAYS = 365.25
_MONTH_DAYS = _YEAR_DAYS / 12


CHANGE_DAYS = 90


def build_base(grid: ir.Table, accounts: ir.Table, history: ir.Table | None = None) -> ir.Table:
    """The grid with its day number, `account_key` and the account attributes every family needs.

    Seats, MRR and plan are taken as of t from ``account_history`` (the last change dated strictly
    before t); the accounts table holds today's values, which at an earlier t would leak later
    downgrades. Without a history row before t the accounts table's value is the fallback.
    """
    g = grid.select("account_id", "observation_date", t_day=day_of(grid.observation_date))
    a = accounts.select(
        _acct=accounts.account_id,
        account_key=accounts.account_key,
        segment=accounts.segment.cast("string"),
        contract_type=accounts.contract_type.cast("string"),
        _plan_now=accounts.plan.cast("string"),
        _seats_now=accounts.seats.cast("int64"),
        _mrr_now=accounts.mrr.cast("float64"),
        start_day=accounts.contract_start.epoch_days(),
    )
    base = without(g.join(a, g.account_id == a._acct), "_acct")
    if history is None:
        base = base.mutate(
            plan=base._plan_now, seats=base._seats_now, mrr=base._mrr_now, seats_before=ibis.null("int64"),
            mrr_before=ibis.null("float64"),
        )  # fmt: skip
        return without(base, "_plan_now", "_seats_now", "_mrr_now")
    now = _as_of(base, history, 0)
    before = _as_of(base, history, CHANGE_DAYS).rename(seats_before="seats", mrr_before="mrr")
    base = base.left_join(now, list(KEYS)).select(base, now.seats, now.mrr, now.plan)
    base = base.left_join(before, list(KEYS)).select(base, before.seats_before, before.mrr_before)
    base = base.mutate(
        plan=base.plan.fill_null(base._plan_now),
        seats=base.seats.fill_null(base._seats_now),
        mrr=base.mrr.fill_null(base._mrr_now),
    )
    return without(base, "_plan_now", "_seats_now", "_mrr_now")


def _as_of(base: ir.Table, history: ir.Table, days_before: int) -> ir.Table:
    """Seats, MRR and plan from the last history row dated before ``t - days_before``."""
    h = history.select(
        _acct=history.account_id,
        _day=history.effective_date.epoch_days(),
        _seats=history.seats.cast("int64"),
        _mrr=history.mrr.cast("float64"),
        _plan=history.plan.cast("string"),
    )
    keys = base.select(*KEYS, "account_id")
    joined = keys.join(h, (keys.account_id == h._acct) & (h._day < keys.t_day - days_before))
    return joined.group_by(list(KEYS)).aggregate(
        seats=joined._seats.argmax(joined._day),
        mrr=joined._mrr.argmax(joined._day),
        plan=joined._plan.argmax(joined._day),
    )


def days_to_renewal(tenure_days: ir.IntegerValue, contract_type: ir.StringValue) -> ir.IntegerValue:
    """Days to the next anniversary of the contract start (yearly for annual, monthly otherwise).

    Derived from the start date rather than the accounts table's `renewal_date`, which is a snapshot
    as of the data cut-off: at an earlier t it would point at a future renewal (or the churn) and leak.
    """
    period = ibis.ifelse(contract_type == "annual", _YEAR_DAYS, _MONTH_DAYS)
    tenure = tenure_days.cast("float64")
    return ((tenure / period).ceil() * period - tenure).ceil().cast("int64")


def build_account_features(base: ir.Table) -> ir.Table:
    """Account attributes at t; seats, MRR and plan as of t (see `build_base`)."""
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
        seats_change_90d=(base.seats - base.seats_before).cast("float64"),
        mrr_change_pct_90d=pct_change(base.mrr, base.mrr_before),
    )
