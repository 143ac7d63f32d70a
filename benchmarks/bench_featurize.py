"""Featurize speed and memory at 1M, 10M and 50M events, against a pandas version and a DuckDB floor.

Each measurement is a whole fresh process (imports included): wall time and peak resident memory
(``ru_maxrss`` of that child). Three contenders on the same synthetic clean directory:

- featurize: ``pipeline.featurize.featurize`` on DuckDB (the production path, output written to Parquet);
- pandas: a straightforward pandas version of the same features (a loop over observation dates);
- floor: DuckDB reading and decoding every value of the three event files once (sum of hash per column);
- floor_minmax: the earlier floor, min/max per column (cheaper: it barely decodes dictionary columns).

With ``--repeat N`` the contenders other than pandas run N times each, interleaved (featurize, floor,
floor_minmax, featurize, floor, ...), so that a slow spell on the machine hits both sides of a ratio; the
report gives every wall time, the median and the largest peak.

Usage: python -m benchmarks.bench_featurize [--sizes 1 10 50] [--skip-pandas-above 10] [--repeat 1]
       [--root DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

START = dt.date(2023, 1, 1)
AS_OF = dt.date(2026, 1, 1)
SHARES = {"logins": 0.5, "record_events": 0.3, "feature_events": 0.2}
EVENTS_PER_ACCOUNT = 2000
USERS_PER_ACCOUNT = 30
CHUNK = 5_000_000
OBJECT_TYPES = ("contacts", "companies", "opportunities", "tasks", "notes", "reports")
FEATURES = ("dashboards", "reports", "email_sync", "workflows", "integrations", "mobile_app", "api")


def write_accounts(out: Path, n: int, rng: np.random.Generator) -> None:
    start = np.datetime64(START) + rng.integers(0, 365, n).astype("timedelta64[D]")
    churned = rng.random(n) < 0.3
    churn = start + rng.integers(200, 1000, n).astype("timedelta64[D]")
    churn_list = [
        d if c and d < np.datetime64(AS_OF) else None for d, c in zip(churn.tolist(), churned, strict=True)
    ]
    seats = rng.integers(1, 100, n)
    table = pa.table(
        {
            "account_id": [f"A{i:07d}" for i in range(n)],
            "account_name": [f"Account {i}" for i in range(n)],
            "segment": rng.choice(["enterprise", "mid_market", "smb"], n),
            "plan": rng.choice(["starter", "professional", "enterprise"], n),
            "seats": seats.astype("int64"),
            "mrr": (seats * 50.0).astype("float64"),
            "contract_type": rng.choice(["monthly", "annual"], n),
            "contract_start": pa.array(start.tolist(), pa.date32()),
            "renewal_date": pa.array((start + 365).tolist(), pa.date32()),
            "churn_date": pa.array(churn_list, pa.date32()),
        }
    )
    pq.write_table(table, out / "accounts.parquet")


def write_log(out: Path, name: str, n_events: int, n_accounts: int, rng: np.random.Generator) -> None:
    accounts = pa.array([f"A{i:07d}" for i in range(n_accounts)])
    users = pa.array([f"U{i:09d}" for i in range(n_accounts * USERS_PER_ACCOUNT)])
    lo = int(np.datetime64(START, "us").astype(np.int64))
    hi = int(np.datetime64(AS_OF, "us").astype(np.int64))
    writer = None
    for offset in range(0, n_events, CHUNK):
        k = min(CHUNK, n_events - offset)
        acct = rng.integers(0, n_accounts, k)
        cols = {
            "account_id": pa.DictionaryArray.from_arrays(pa.array(acct.astype("int32")), accounts),
            "user_id": pa.DictionaryArray.from_arrays(
                pa.array((acct * USERS_PER_ACCOUNT + rng.integers(0, USERS_PER_ACCOUNT, k)).astype("int32")),
                users,
            ),
            "timestamp": pa.array(np.sort(rng.integers(lo, hi, k)), pa.timestamp("us", tz="UTC")),
        }
        if name == "record_events":
            cols["object_type"] = _categorical(OBJECT_TYPES, k, rng)
            cols["action"] = _categorical(("create", "update", "delete"), k, rng)
        if name == "feature_events":
            cols["feature"] = _categorical(FEATURES, k, rng)
        chunk = pa.table(cols)
        chunk = chunk.cast(pa.schema([pa.field(f.name, _plain(f.type)) for f in chunk.schema]))
        writer = writer or pq.ParquetWriter(out / f"{name}.parquet", chunk.schema, compression="zstd")
        writer.write_table(chunk, row_group_size=1_000_000)
    writer.close()


def _categorical(values: tuple[str, ...], k: int, rng: np.random.Generator) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(rng.integers(0, len(values), k).astype("int32")), pa.array(values)
    )


def _plain(t: pa.DataType) -> pa.DataType:
    return pa.string() if pa.types.is_dictionary(t) else t


def generate(out: Path, n_events: int, seed: int = 0) -> None:
    """A synthetic clean directory with `n_events` events across the three logs."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_accounts = max(50, n_events // EVENTS_PER_ACCOUNT)
    write_accounts(out, n_accounts, rng)
    for name, share in SHARES.items():
        write_log(out, name, int(n_events * share), n_accounts, rng)
    (out / "manifest.json").write_text(json.dumps({"as_of": AS_OF.isoformat()}))


# ------------------------------------------------------------------ contenders (run in a child process)


def run_featurize(clean: Path) -> None:
    from pipeline.config import load_params
    from pipeline.featurize import featurize

    cfg = load_params().featurize.model_copy(update={"engine": "duckdb"})
    featurize(clean, cfg, clean.parent / "out" / "features.parquet")


def run_floor(clean: Path, aggregates: str = 'sum(hash("{c}"))') -> None:
    import duckdb

    con = duckdb.connect()
    for name in SHARES:
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
    logs = {name: pd.read_parquet(clean / f"{name}.parquet") for name in SHARES}
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
    recent = window(rec, cfg.object_type_window_days)
    for o in cfg.object_types:
        for a in ("create", "update", "delete"):
            sel = recent[(recent.object_type == o) & (recent.action == a)]
            out[f"records_{o}_{a}_count_{cfg.object_type_window_days}d"] = count(sel)
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


def measure(contender: str, clean: Path) -> dict[str, float]:
    """Wall seconds and peak RSS (GB) of one fresh process running `contender`."""
    (clean.parent / "out").mkdir(exist_ok=True)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_featurize", "--child", contender, str(clean)]
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        log.warning("%s failed with status %s", contender, status)
        return {"wall_s": float("nan"), "peak_gb": usage.ru_maxrss / 1e6}
    return {"wall_s": wall, "peak_gb": usage.ru_maxrss / 1e6}  # ru_maxrss is in KiB on Linux


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 10, 50], help="millions of events")
    parser.add_argument(
        "--skip-pandas-above", type=int, default=50, help="millions; pandas needs ~12 GB at 50M"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender (pandas runs once)")
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("CONTENDER", "CLEAN_DIR"))
    args = parser.parse_args()
    if args.child:
        CONTENDERS[args.child[0]](Path(args.child[1]))
        return
    root = args.root or Path(tempfile.mkdtemp(prefix="bench_featurize_"))
    rows = []
    for millions in args.sizes:
        clean = root / f"{millions}M" / "clean"
        if not (clean / "manifest.json").exists():
            log.info("generating %dM events in %s", millions, clean)
            generate(clean, millions * 1_000_000)
        result = {"events_m": millions}
        runs: dict[str, list[dict[str, float]]] = {}
        for _ in range(args.repeat):
            for contender in CONTENDERS:
                if contender == "pandas" and (millions > args.skip_pandas_above or "pandas" in runs):
                    continue
                runs.setdefault(contender, []).append(measure(contender, clean))
                log.info("%dM %s: %s", millions, contender, runs[contender][-1])
        for contender, measured in runs.items():
            walls = [m["wall_s"] for m in measured]
            result[contender] = {
                "wall_s": statistics.median(walls),
                "peak_gb": max(m["peak_gb"] for m in measured),
                "walls_s": [round(w, 2) for w in walls],
            }
        rows.append(result)
    sys.stdout.write(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
