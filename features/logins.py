"""Login features: volume, active days and users, licence utilisation, stickiness, health and recency."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.registry import HEALTHY_WINDOW_DAYS, MAU_WINDOW_DAYS, Settings
from features.windows import (
    KEYS,
    NEVER,
    count_if,
    day_of,
    days_since,
    int64_sum,
    join_before,
    join_last_days,
    join_recent,
    left_join_keys,
    pct_change,
    ratio,
    span_days,
    sum_by_run,
    sum_if,
    summarize_old_buckets,
    trend_sums,
    user_hash,
    with_days_around,
    zero,
)


def summarize_logins(
    logins: ir.Table, keys: ir.Table, s: Settings, healthy_min_days: int
) -> tuple[ir.Table, ir.Table]:
    """Per (account, user, day) with the user's previous, next and k-th most recent day (see
    `with_days_around`), user dropped; and per (account, run): login days `n`, logins, user-days and
    weekend logins."""
    user_days = (
        logins.mutate(day=day_of(logins.timestamp), user_key=user_hash(logins.user_id))
        .group_by(["account_key", "user_key", "day"])
        .aggregate(n=lambda t: t.count())
    )
    days = with_days_around(user_days, "user_key", previous=1, next=-1, kth=healthy_min_days - 1)
    days = days.select("account_key", "day", "n", "previous", "next", "kth")
    account_days = days.group_by(["account_key", "day"]).aggregate(
        logins=int64_sum(days.n), users=days.count()
    )
    weekend = (account_days.day + 3) % 7 >= 5  # day 0 (1970-01-01) was a Thursday; Monday = 0
    account_runs = sum_by_run(
        keys,
        account_days,
        s,
        logins=account_days.logins,
        user_days=account_days.users,
        weekend_logins=ibis.ifelse(weekend, account_days.logins, 0),
    )
    return days, account_runs


def aggregate_login_volume(keys: ir.Table, account_runs: ir.Table, s: Settings, span: int) -> ir.Table:
    r = join_recent(keys, account_runs, span)
    m = s.max_window
    return r.group_by(list(KEYS)).aggregate(
        **{f"logins_count_{w}d": sum_if(r.age <= w, r.logins) for w in s.windows},
        **{f"login_days_distinct_{w}d": sum_if(r.age <= w, r.n) for w in s.windows},
        **trend_sums(r, r.logins, "logins", s, span),
        _login_days_max=sum_if(r.age <= m, r.n),
        _weekend_logins=sum_if(r.age <= m, r.weekend_logins),
        _user_days_mau=sum_if(r.age <= MAU_WINDOW_DAYS, r.user_days),
        _last_day_recent=r.last_day.max(),
    )


def aggregate_login_users(keys: ir.Table, days: ir.Table, s: Settings) -> ir.Table:
    """Distinct and healthy users per window, counted on each user's last day (see `join_last_days`)."""
    t, h = s.trend_days, HEALTHY_WINDOW_DAYS
    r = join_last_days(keys, days, max(s.max_window, MAU_WINDOW_DAYS, t, h))
    return r.group_by(list(KEYS)).aggregate(
        **{f"active_users_distinct_{w}d": count_if(r, r.age <= w) for w in s.windows},
        _users_mau=count_if(r, r.age <= MAU_WINDOW_DAYS),
        _users_cur=count_if(r, r.age <= t),
        _users_healthy_window=count_if(r, r.age <= h),
        # users whose k-th most recent login day is within the last h days have at least k there
        healthy_users_count_28d=count_if(r, r.kth >= r.t_day - h),
    )


def count_previous_users(keys: ir.Table, days: ir.Table, s: Settings) -> ir.Table:
    """The users active in the trend's previous period, ``[t - 2 * trend, t - trend)``: those whose last
    day before ``t - trend`` is in it.

    A group of its own: these rows need one count, where in `aggregate_login_users`' group each would
    also go through its seven tests.
    """
    r = join_last_days(keys, days, s.trend_days, offset=s.trend_days)
    return r.group_by(list(KEYS)).aggregate(_users_prev=r.count())


def count_activated_users(keys: ir.Table, days: ir.Table) -> ir.Table:
    """Users whose first login day is before t."""
    firsts = days.filter(days.previous == NEVER).select("account_key", first_day=days.day)
    joined = join_before(keys, firsts, "first_day")
    return joined.group_by(list(KEYS)).aggregate(users_activated_count=joined.count())


def build_login_features(logins: ir.Table, base: ir.Table, s: Settings, healthy_min_days: int) -> ir.Table:
    """Login features for every (account, t) of `base` (keys, seats); helper columns start with '_'."""
    span = span_days(s)
    keys = base.select(*KEYS)
    days, account_runs = summarize_logins(logins, keys, s, healthy_min_days)
    volume = aggregate_login_volume(keys, account_runs, s, span)
    users = aggregate_login_users(keys, days, s)
    previous_users = count_previous_users(keys, days, s)
    activated = count_activated_users(keys, days)
    old = summarize_old_buckets(keys, account_runs, "logins", span)
    j = left_join_keys(base, volume, users, previous_users, activated, old)
    m, t = s.max_window, s.trend_days
    return j.select(
        *KEYS,
        **{f"logins_count_{w}d": zero(j[f"logins_count_{w}d"]) for w in s.windows},
        **{f"login_days_distinct_{w}d": zero(j[f"login_days_distinct_{w}d"]) for w in s.windows},
        **{f"active_users_distinct_{w}d": zero(j[f"active_users_distinct_{w}d"]) for w in s.windows},
        **{
            f"active_users_ratio_{w}d": ratio(zero(j[f"active_users_distinct_{w}d"]), j.seats)
            for w in s.windows
        },
        users_activated_count=zero(j.users_activated_count),
        seats_activated_ratio=ratio(zero(j.users_activated_count), j.seats),
        stickiness_dau_mau_30d=ratio(zero(j._user_days_mau), j._users_mau * MAU_WINDOW_DAYS),
        healthy_users_count_28d=zero(j.healthy_users_count_28d),
        healthy_users_share_28d=ratio(zero(j.healthy_users_count_28d), j._users_healthy_window),
        days_since_last_login=days_since(j.t_day, j._last_day_recent.fill_null(j.old_last_day)),
        **{f"logins_change_pct_{t}d": pct_change(zero(j._logins_cur), zero(j._logins_prev))},
        **{f"active_users_change_pct_{t}d": pct_change(zero(j._users_cur), zero(j._users_prev))},
        **{f"weekend_logins_share_{m}d": ratio(zero(j._weekend_logins), j._logins_max)},
        _logins_max=zero(j._logins_max),
        _login_days_max=zero(j._login_days_max),
        _logins_lifetime=zero(j._logins_partial) + zero(j.old_total),
    )
