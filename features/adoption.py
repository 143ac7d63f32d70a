"""Feature-adoption features: breadth, depth per core feature, new and abandoned features, time to value."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.registry import Settings
from features.windows import (
    KEYS,
    count_if,
    day_of,
    days_since,
    in_current_bucket,
    int64_sum,
    join_before,
    join_recent,
    left_join_keys,
    pct_change,
    position_in,
    span_days,
    sum_by_run,
    sum_if,
    summarize_old_buckets,
    zero,
)


def summarize_features(feature_events: ir.Table, keys: ir.Table, s: Settings) -> tuple[ir.Table, ir.Table]:
    """(account, feature, day) use counts and per (account, run) total `uses`.

    Features are numbered (`feature_code`, in name order) and carry `core`, the feature's position in
    the configured core list from 1, or 0: groups on small integers are cheaper than on names.
    """
    names = feature_events.select("feature").distinct()
    codes = names.select(
        _name=names.feature,
        feature_code=ibis.dense_rank().over(order_by=names.feature).cast("int32"),
        core=position_in(names.feature, s.core_features),
    )
    events = feature_events.join(codes, feature_events.feature == codes._name)
    feature_days = (
        events.mutate(day=day_of(events.timestamp))
        .group_by(["account_key", "feature_code", "core", "day"])
        .aggregate(n=lambda t: t.count())
    )
    return feature_days, sum_by_run(keys, feature_days, s, uses=feature_days.n)


def aggregate_feature_use(keys: ir.Table, feature_days: ir.Table, s: Settings, span: int) -> ir.Table:
    r = join_recent(keys, feature_days, span)
    t = s.trend_days
    windows = sorted({*s.windows, t, s.max_window})
    per_feature = r.group_by([*KEYS, "feature_code", "core"]).aggregate(
        last_day=r.day.max(),
        **{f"uses_{w}": sum_if(r.age <= w, r.n) for w in windows},
        uses_prev=sum_if((r.age > t) & (r.age <= 2 * t), r.n),
        uses_partial=sum_if(in_current_bucket(r.day, r.t_day, span), r.n),
    )
    f = per_feature.mutate(last_age=per_feature.t_day - per_feature.last_day)
    core = f.core > 0
    return f.group_by(list(KEYS)).aggregate(
        **{f"features_used_distinct_{w}d": count_if(f, f.last_age <= w) for w in s.windows},
        **{f"feature_events_count_{w}d": int64_sum(f[f"uses_{w}"]) for w in s.windows},
        **{
            f"feature_{c}_uses_{w}d": sum_if(f.core == i, f[f"uses_{w}"])
            for i, c in enumerate(s.core_features, 1)
            for w in s.windows
        },
        **{f"core_features_used_distinct_{t}d": count_if(f, core & (f.last_age <= t))},
        # Abandoned: used in [t - 2T, t - T) and not at all in the last T days.
        **{f"features_abandoned_{t}d": count_if(f, (f.uses_prev > 0) & (f.last_age > t))},
        _feature_events_cur=int64_sum(f[f"uses_{t}"]),
        _feature_events_prev=int64_sum(f.uses_prev),
        _feature_events_max=int64_sum(f[f"uses_{s.max_window}"]),
        _feature_events_partial=int64_sum(f.uses_partial),
        _last_day_recent=f.last_day.max(),
    )


def aggregate_first_uses(keys: ir.Table, feature_days: ir.Table, s: Settings) -> ir.Table:
    firsts = feature_days.group_by(["account_key", "feature_code", "core"]).aggregate(
        first_day=feature_days.day.min()
    )
    j = join_before(keys, firsts, "first_day")
    return j.group_by(list(KEYS)).aggregate(
        features_adopted_count=j.count(),
        **{f"features_adopted_new_{s.trend_days}d": count_if(j, j.t_day - j.first_day <= s.trend_days)},
        **{
            f"_first_{c}": ibis.ifelse(j.core == i, j.first_day, ibis.null()).min()
            for i, c in enumerate(s.core_features, 1)
        },
    )


def build_adoption_features(feature_events: ir.Table, base: ir.Table, s: Settings) -> ir.Table:
    """Adoption features for every (account, t) of `base` (keys, start_day); helpers start with '_'."""
    span = span_days(s)
    keys = base.select(*KEYS)
    feature_days, account_runs = summarize_features(feature_events, keys, s)
    use = aggregate_feature_use(keys, feature_days, s, span)
    firsts = aggregate_first_uses(keys, feature_days, s)
    old = summarize_old_buckets(keys, account_runs, "uses", span)
    j = left_join_keys(base, use, firsts, old)
    t = s.trend_days
    counts = [
        *(f"features_used_distinct_{w}d" for w in s.windows),
        *(f"feature_events_count_{w}d" for w in s.windows),
        *(f"feature_{c}_uses_{w}d" for c in s.core_features for w in s.windows),
        f"core_features_used_distinct_{t}d",
        "features_adopted_count",
        f"features_adopted_new_{t}d",
        f"features_abandoned_{t}d",
    ]
    return j.select(
        *KEYS,
        **{name: zero(j[name]) for name in counts},
        # Time to value: null until the feature is first used before t.
        **{f"days_to_first_{c}": (j[f"_first_{c}"] - j.start_day).cast("float64") for c in s.core_features},
        days_since_last_feature_event=days_since(j.t_day, j._last_day_recent.fill_null(j.old_last_day)),
        **{
            f"feature_events_change_pct_{t}d": pct_change(
                zero(j._feature_events_cur), zero(j._feature_events_prev)
            )
        },
        _feature_events_max=zero(j._feature_events_max),
        _feature_events_lifetime=zero(j._feature_events_partial) + zero(j.old_total),
    )
