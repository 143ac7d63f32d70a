"""Account features: tenure, segment, plan, seats, revenue, renewal timing; and the per-(account, t) base."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.windows import KEYS, day_of, pct_change, ratio, without

CHANGE_DAYS = 90


def build_base(grid: ir.Table, accounts: ir.Table, history: ir.Table | None = None) -> ir.Table:
    """The grid with its day number, `account_key` and the account attributes every family needs.

    Seats, MRR and plan are taken as of t from ``account_history`` (the last change dated strictly
    before t); the accounts table holds today's values, which at an earlier t would leak later
    downgrades. Without a history row before t the accounts table's value is the fallback.
    """
    g = grid.select(
        "account_id",
        "observation_date",
        t_day=day_of(grid.observation_date),
        t_month=month_index(grid.observation_date.date()),
    )
    a = accounts.select(
        _acct=accounts.account_id,
        account_key=accounts.account_key,
        segment=accounts.segment.cast("string"),
        contract_type=accounts.contract_type.cast("string"),
        _plan_now=accounts.plan.cast("string"),
        _seats_now=accounts.seats.cast("int64"),
        _mrr_now=accounts.mrr.cast("float64"),
        start_day=accounts.contract_start.epoch_days(),
        start_month=month_index(accounts.contract_start),
        start_dom=accounts.contract_start.day().cast("int32"),
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
    # A view: the lookups are computed from `base`, and ibis would otherwise resolve base's account_key
    # and t_day to the lookup's side of the left join, null wherever an account had no history row
    # before t (and every feature of that row was lost).
    base = base.view()
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


def month_index(date: ir.DateValue) -> ir.IntegerValue:
    """Months since year 0: consecutive calendar months get consecutive numbers."""
    return date.year().cast("int32") * 12 + date.month().cast("int32") - 1


def day_in_month(month: ir.IntegerValue, day_of_month: ir.IntegerValue) -> ir.IntegerValue:
    """The day number (as `day_of`) of `day_of_month` in `month` (a `month_index`), or of the month's
    last day when it is shorter: the 31st in April is the 30th."""

    def first(m: ir.IntegerValue) -> ir.IntegerValue:
        return ibis.date(m // 12, m % 12 + 1, 1).epoch_days()

    length = first(month + 1) - first(month)
    return first(month) + ibis.least(day_of_month, length) - 1


def days_to_renewal(base: ir.Table) -> ir.IntegerValue:
    """Days from t to the next renewal on or after it: the contract start's anniversary, yearly for
    annual contracts and monthly otherwise, on the start's day of the month (or the month's last day).

    Derived from the start date rather than the accounts table's `renewal_date`, which is a snapshot
    as of the data cut-off: at an earlier t it would point at a future renewal (or the churn) and leak.
    The risk list's `days_to_renewal`, stepped from `renewal_date`, agrees wherever that date is an
    anniversary of the start.
    """
    period = ibis.ifelse(base.contract_type == "annual", 12, 1)
    # the last anniversary month on or before t's month (the grid has only accounts started before t)
    month = base.start_month + (base.t_month - base.start_month) // period * period
    renewal = day_in_month(month, base.start_dom)
    renewal = ibis.ifelse(renewal < base.t_day, day_in_month(month + period, base.start_dom), renewal)
    return (renewal - base.t_day).cast("int64")


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
        days_to_renewal=days_to_renewal(base),
        seats_change_90d=(base.seats - base.seats_before).cast("float64"),
        mrr_change_pct_90d=pct_change(base.mrr, base.mrr_before),
    )
