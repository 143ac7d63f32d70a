"""The featurize benchmark's contenders, each run by `benchmarks.bench_featurize` in a fresh process.

``python -m benchmarks.featurize_contenders CONTENDER CLEAN_DIR``. This module imports nothing beyond the
standard library at the top, so that each contender's process loads only what the contender itself
needs: the floor DuckDB alone, featurize the pipeline, pandas its baseline.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

# The pipeline's `features.build.EVENT_TABLES`, written out: importing `features` would load ibis into the
# floor's process, which is what this module keeps out of it.
LOGS = ("logins", "record_events", "feature_events")


def run_featurize(clean: Path) -> None:
    from pipeline.config import load_params
    from pipeline.featurize import featurize, quiet_collector

    quiet_collector()  # as the stage's main() does
    cfg = load_params().featurize.model_copy(update={"engine": "duckdb"})
    featurize(clean, cfg, clean.parent / "out" / "features.parquet")


def run_floor(clean: Path, aggregates: str = 'sum(hash("{c}"))') -> None:
    import duckdb

    con = duckdb.connect()
    for name in LOGS:
        path = clean / f"{name}.parquet"
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]
        aggs = ", ".join(aggregates.format(c=c) for c in cols)
        con.execute(f"SELECT {aggs} FROM read_parquet('{path}')").fetchall()


def run_floor_minmax(clean: Path) -> None:
    run_floor(clean, 'min("{c}"), max("{c}")')


def run_pandas(clean: Path) -> None:
    featurize_pandas(clean).to_parquet(clean.parent / "out" / "features_pandas.parquet")


# ------------------------------------------------------------------ the pandas baseline


def featurize_pandas(clean: Path):  # -> pd.DataFrame
    """The same features the straightforward way: load everything, then filter and group per date."""
    import pandas as pd

    from features.labels import observation_dates
    from pipeline.config import load_params

    cfg = load_params().featurize
    as_of = dt.date.fromisoformat(json.loads((clean / "manifest.json").read_text())["as_of"])
    accounts = pd.read_parquet(clean / "accounts.parquet")
    start = pd.to_datetime(accounts.contract_start).dt.tz_localize("UTC")
    churn = pd.to_datetime(accounts.churn_date).dt.tz_localize("UTC")
    grid = pd.concat(
        pd.DataFrame(
            {
                "account_id": accounts.account_id[(start < t) & (churn.isna() | (churn >= t))],
                "observation_date": t,
            }
        )
        for t in pd.to_datetime(observation_dates(cfg.first_observation, as_of)).tz_localize("UTC")
    )
    logs = {name: pd.read_parquet(clean / f"{name}.parquet") for name in LOGS}
    for frame in logs.values():
        frame["day"] = frame["timestamp"].dt.floor("D")
    frames = [
        _pandas_at(t, grid[grid.observation_date == t], accounts, logs, cfg)
        for t in sorted(grid.observation_date.unique())
    ]
    return pd.concat(frames, ignore_index=True)


def _pandas_at(t, grid, accounts, logs, cfg):
    import pandas as pd

    out = grid.set_index("account_id")
    acc = accounts.set_index("account_id").reindex(out.index)
    tenure = (t.tz_localize(None) - pd.to_datetime(acc.contract_start)).dt.days
    out["tenure_days"] = tenure
    for col in ("segment", "plan", "contract_type", "seats", "mrr"):
        out[col] = acc[col]
    out["arr"] = acc.mrr * 12
    out["mrr_per_seat"] = acc.mrr / acc.seats
    span, trend = 90, cfg.trend_days

    def window(frame, lo, hi=0):
        return frame[
            (frame.timestamp >= t - pd.Timedelta(days=lo)) & (frame.timestamp < t - pd.Timedelta(days=hi))
        ]

    def count(frame):
        return frame.groupby("account_id").size().reindex(out.index, fill_value=0)

    def nunique(frame, col):
        return frame.groupby("account_id")[col].nunique().reindex(out.index, fill_value=0)

    def since(frame):
        last = frame[frame.timestamp < t].groupby("account_id").day.max().reindex(out.index)
        return (t - last).dt.days

    lg, rec, fe = logs["logins"], logs["record_events"], logs["feature_events"]
    for w in cfg.windows:
        recent = window(lg, w)
        out[f"logins_count_{w}d"] = count(recent)
        out[f"login_days_distinct_{w}d"] = nunique(recent, "day")
        out[f"active_users_distinct_{w}d"] = nunique(recent, "user_id")
        out[f"active_users_ratio_{w}d"] = out[f"active_users_distinct_{w}d"] / acc.seats
    before = lg[lg.timestamp < t]
    out["users_activated_count"] = nunique(before, "user_id")
    out["seats_activated_ratio"] = out.users_activated_count / acc.seats
    month = window(lg, 30)
    dau = month.groupby(["account_id", "day"]).user_id.nunique().groupby("account_id").sum()
    out["stickiness_dau_mau_30d"] = dau.reindex(out.index, fill_value=0) / 30 / nunique(month, "user_id")
    days28 = window(lg, 28).groupby(["account_id", "user_id"]).day.nunique()
    healthy = (days28 >= cfg.healthy_user_min_days).groupby("account_id").sum()
    out["healthy_users_count_28d"] = healthy.reindex(out.index, fill_value=0)
    out["healthy_users_share_28d"] = out.healthy_users_count_28d / days28.groupby("account_id").size()
    out["days_since_last_login"] = since(lg)
    out[f"logins_change_pct_{trend}d"] = (
        count(window(lg, trend)) - count(window(lg, 2 * trend, trend))
    ) / count(window(lg, 2 * trend, trend))
    prev_users = nunique(window(lg, 2 * trend, trend), "user_id")
    out[f"active_users_change_pct_{trend}d"] = (
        nunique(window(lg, trend), "user_id") - prev_users
    ) / prev_users
    last90 = window(lg, span)
    out["weekend_logins_share_90d"] = count(last90[last90.timestamp.dt.day_of_week >= 5]) / count(last90)
    for w in cfg.windows:
        recent = window(rec, w)
        for a in ("create", "update", "delete"):
            out[f"records_{a}_count_{w}d"] = count(recent[recent.action == a])
        out[f"records_net_created_{w}d"] = (
            out[f"records_create_count_{w}d"] - out[f"records_delete_count_{w}d"]
        )
        out[f"record_editors_distinct_{w}d"] = nunique(recent, "user_id")
    for w in cfg.object_type_windows:
        recent = window(rec, w)
        for o in cfg.object_types:
            for a in ("create", "update", "delete"):
                sel = recent[(recent.object_type == o) & (recent.action == a)]
                out[f"records_{o}_{a}_count_{w}d"] = count(sel)
    out["days_since_last_record_event"] = since(rec)
    prev = count(window(rec, 2 * trend, trend))
    out[f"records_change_pct_{trend}d"] = (count(window(rec, trend)) - prev) / prev
    for w in cfg.windows:
        recent = window(fe, w)
        out[f"features_used_distinct_{w}d"] = nunique(recent, "feature")
        out[f"feature_events_count_{w}d"] = count(recent)
        for c in cfg.core_features:
            out[f"feature_{c}_uses_{w}d"] = count(recent[recent.feature == c])
    recent, prior = window(fe, trend), window(fe, 2 * trend, trend)
    out[f"core_features_used_distinct_{trend}d"] = nunique(
        recent[recent.feature.isin(cfg.core_features)], "feature"
    )
    first = fe[fe.timestamp < t].groupby(["account_id", "feature"]).day.min().reset_index()
    out["features_adopted_count"] = count(first)
    out[f"features_adopted_new_{trend}d"] = count(first[first.day >= t - pd.Timedelta(days=trend)])
    pairs_now = set(zip(recent.account_id, recent.feature, strict=True))
    dropped = prior[[p not in pairs_now for p in zip(prior.account_id, prior.feature, strict=True)]]
    out[f"features_abandoned_{trend}d"] = nunique(dropped, "feature")
    start = pd.to_datetime(acc.contract_start).dt.tz_localize("UTC")
    for c in cfg.core_features:
        first_c = first[first.feature == c].set_index("account_id").day.reindex(out.index)
        out[f"days_to_first_{c}"] = (first_c - start).dt.days
    out["days_since_last_feature_event"] = since(fe)
    prev = count(prior)
    out[f"feature_events_change_pct_{trend}d"] = (count(recent) - prev) / prev
    days = tenure.clip(upper=span)
    out["logins_per_day_90d"] = out.logins_count_90d / days
    out["login_days_share_90d"] = out.login_days_distinct_90d / days
    out["records_per_day_90d"] = count(window(rec, span)) / days
    out["feature_events_per_day_90d"] = out.feature_events_count_90d / days
    out["logins_per_day_lifetime"] = count(before) / tenure
    out["records_per_day_lifetime"] = count(rec[rec.timestamp < t]) / tenure
    out["feature_events_per_day_lifetime"] = count(fe[fe.timestamp < t]) / tenure
    return out.reset_index()


CONTENDERS = {
    "featurize": run_featurize,
    "floor": run_floor,
    "floor_minmax": run_floor_minmax,
    "pandas": run_pandas,
}


if __name__ == "__main__":
    CONTENDERS[sys.argv[1]](Path(sys.argv[2]))
