"""Record-event features: creates, updates and deletes (overall and per object type), net growth, editors."""

from __future__ import annotations

import ibis.expr.types as ir

from features.registry import ACTIONS, Settings
from features.windows import (
    KEYS,
    count_if,
    day_of,
    days_since,
    join_last_days,
    join_recent,
    left_join_keys,
    pct_change,
    position_in,
    span_days,
    sum_by_run,
    sum_if,
    summarize_old_buckets,
    sums_within,
    trend_sums,
    user_hash,
    with_days_around,
    without,
    zero,
)


def summarize_records(records: ir.Table, keys: ir.Table, s: Settings) -> tuple[ir.Table, ir.Table]:
    """Per (account, run): counts per action and per object type x action; and every event's (account,
    user, day)."""
    events = records.mutate(
        day=day_of(records.timestamp),
        _type=position_in(records.object_type, s.object_types),
        _action=position_in(records.action, ACTIONS),
    )
    by_type = {
        f"{o}_{a}": (events._type == i) & (events._action == j)
        for i, o in enumerate(s.object_types, 1)
        for j, a in enumerate(ACTIONS, 1)
    }
    by_action = {a: events._action == j for j, a in enumerate(ACTIONS, 1)}
    account_runs = sum_by_run(keys, events, s, **by_action, **by_type)
    return account_runs, events.select("account_key", "day", user_key=user_hash(events.user_id))


def type_actions(s: Settings) -> list[str]:
    """The run columns that count one object type and action each (see `summarize_records`)."""
    return [f"{ot}_{a}" for ot in s.object_types for a in ACTIONS]


def aggregate_record_volume(keys: ir.Table, account_runs: ir.Table, s: Settings, span: int) -> ir.Table:
    """Counts per action and window, and the trend sums, over the runs of the last `span` days."""
    runs = without(account_runs, *type_actions(s))
    r = join_recent(keys, runs, span)
    return r.group_by(list(KEYS)).aggregate(
        **{f"records_{a}_count_{w}d": sum_if(r.age <= w, r[a]) for a in ACTIONS for w in s.windows},
        **trend_sums(r, r.n, "records", s, span),
        _last_day_recent=r.last_day.max(),
    )


def aggregate_by_type(keys: ir.Table, account_runs: ir.Table, s: Settings) -> list[ir.Table]:
    """Counts per object type and action, a table for each of the `object_type_windows`."""
    return [
        sums_within(keys, account_runs, o, **{f"records_{c}_count_{o}d": c for c in type_actions(s)})
        for o in s.object_type_windows
    ]


def aggregate_editors(keys: ir.Table, user_events: ir.Table, s: Settings) -> ir.Table:
    """Distinct editors per window, counted on each user's last day (see `join_last_days`)."""
    events = with_days_around(user_events, "user_key", next=-1)
    # each user's last event of a day, whose `next` is the user's next day with an event
    r = join_last_days(keys, events.filter(events.next > events.day), s.max_window)
    return r.group_by(list(KEYS)).aggregate(
        **{f"record_editors_distinct_{w}d": count_if(r, r.age <= w) for w in s.windows}
    )


def build_record_features(records: ir.Table, base: ir.Table, s: Settings) -> ir.Table:
    """Record features for every (account, t) of `base`; helper columns start with '_'."""
    span = span_days(s)
    keys = base.select(*KEYS)
    account_runs, user_events = summarize_records(records, keys, s)
    volume = aggregate_record_volume(keys, account_runs, s, span)
    by_type = aggregate_by_type(keys, account_runs, s)
    editors = aggregate_editors(keys, user_events, s)
    old = summarize_old_buckets(keys, account_runs, "n", span)
    j = left_join_keys(base, volume, *by_type, editors, old)
    count = {
        f"records_{a}_count_{w}d": zero(j[f"records_{a}_count_{w}d"]) for a in ACTIONS for w in s.windows
    }
    return j.select(
        *KEYS,
        **count,
        **{
            f"records_net_created_{w}d": count[f"records_create_count_{w}d"]
            - count[f"records_delete_count_{w}d"]
            for w in s.windows
        },
        **{f"record_editors_distinct_{w}d": zero(j[f"record_editors_distinct_{w}d"]) for w in s.windows},
        **{
            f"records_{ot}_{a}_count_{o}d": zero(j[f"records_{ot}_{a}_count_{o}d"])
            for ot in s.object_types
            for a in ACTIONS
            for o in s.object_type_windows
        },
        days_since_last_record_event=days_since(j.t_day, j._last_day_recent.fill_null(j.old_last_day)),
        **{f"records_change_pct_{s.trend_days}d": pct_change(zero(j._records_cur), zero(j._records_prev))},
        _records_max=zero(j._records_max),
        _records_lifetime=zero(j._records_partial) + zero(j.old_total),
    )
