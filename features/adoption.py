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
    join_before,
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
    with_days_around,
    zero,
)


def summarize_features(feature_events: ir.Table, keys: ir.Table, s: Settings) -> tuple[ir.Table, ir.Table]:
    """(account, feature, day) use counts `n`; and per (account, run) the total `uses` and, for each core
    feature c, ``uses_{c}``.

    Features are numbered (`feature_code`): a core feature by its position in the configured list
    (1 for the first), every other one after those, in name order. So the code of core feature i is i,
    ``feature_code <= len(core_features)`` marks the core features, and groups are on small integers.
    """
    names = feature_events.select("feature").distinct()
    core = position_in(names.feature, s.core_features)
    rank = ibis.dense_rank().over(order_by=names.feature)  # from 0
    codes = names.select(
        _name=names.feature,
        feature_code=ibis.ifelse(core > 0, core, rank + len(s.core_features) + 1).cast("int32"),
    )
    events = feature_events.join(codes, feature_events.feature == codes._name)
    feature_days = (
        events.mutate(day=day_of(events.timestamp))
        .group_by(["account_key", "feature_code", "day"])
        .aggregate(n=lambda t: t.count())
    )
    core_uses = {
        f"uses_{c}": ibis.ifelse(feature_days.feature_code == i, feature_days.n, 0)
        for i, c in enumerate(s.core_features, 1)
    }
    return feature_days, sum_by_run(keys, feature_days, s, uses=feature_days.n, **core_uses)


def aggregate_feature_events(keys: ir.Table, account_runs: ir.Table, s: Settings, span: int) -> ir.Table:
    """Feature events per window, in all and per core feature, summed over the account's runs.

    The windows shorter than `span` are summed apart (see `sums_within`).
    """

    def counts(w: int) -> dict[str, str]:
        return {
            f"feature_events_count_{w}d": "uses",
            **{f"feature_{c}_uses_{w}d": f"uses_{c}" for c in s.core_features},
        }

    r = join_recent(keys, account_runs, span)
    longest = r.group_by(list(KEYS)).aggregate(
        **{name: sum_if(r.age <= w, r[c]) for w in s.windows if w >= span for name, c in counts(w).items()},
        **trend_sums(r, r.uses, "feature_events", s, span),
        _last_day_recent=r.last_day.max(),
    )
    shorter = [sums_within(keys, account_runs, w, **counts(w)) for w in s.windows if w < span]
    return left_join_keys(longest, *shorter)


def aggregate_breadth(keys: ir.Table, feature_days: ir.Table, s: Settings, span: int) -> ir.Table:
    """Distinct features used per window, core features used, and features abandoned, from each feature's
    last day of use before t, `age` days before t.

    The feature's days take the place of a user's in `join_last_days`: one row per feature and date.
    """
    days = with_days_around(feature_days, "feature_code", next=-1)
    f = join_last_days(keys, days, span)
    t = s.trend_days
    return f.group_by(list(KEYS)).aggregate(
        **{f"features_used_distinct_{w}d": count_if(f, f.age <= w) for w in s.windows},
        **{
            f"core_features_used_distinct_{t}d": count_if(
                f, (f.feature_code <= len(s.core_features)) & (f.age <= t)
            )
        },
        # Abandoned: used in [t - 2T, t - T) and not at all in the last T days, so last used in the former.
        **{f"features_abandoned_{t}d": count_if(f, (f.age > t) & (f.age <= 2 * t))},
    )


def aggregate_first_uses(keys: ir.Table, feature_days: ir.Table, s: Settings) -> ir.Table:
    firsts = feature_days.group_by(["account_key", "feature_code"]).aggregate(
        first_day=feature_days.day.min()
    )
    j = join_before(keys, firsts, "first_day")
    return j.group_by(list(KEYS)).aggregate(
        features_adopted_count=j.count(),
        **{f"features_adopted_new_{s.trend_days}d": count_if(j, j.t_day - j.first_day <= s.trend_days)},
        **{
            f"_first_{c}": ibis.ifelse(j.feature_code == i, j.first_day, ibis.null()).min()
            for i, c in enumerate(s.core_features, 1)
        },
    )


def build_adoption_features(feature_events: ir.Table, base: ir.Table, s: Settings) -> ir.Table:
    """Adoption features for every (account, t) of `base` (keys, start_day); helpers start with '_'."""
    span = span_days(s)
    keys = base.select(*KEYS)
    feature_days, account_runs = summarize_features(feature_events, keys, s)
    events = aggregate_feature_events(keys, account_runs, s, span)
    breadth = aggregate_breadth(keys, feature_days, s, span)
    firsts = aggregate_first_uses(keys, feature_days, s)
    old = summarize_old_buckets(keys, account_runs, "uses", span)
    j = left_join_keys(base, events, breadth, firsts, old)
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
