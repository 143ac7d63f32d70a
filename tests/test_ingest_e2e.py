"""End to end through the importers: the simulated sample, re-shaped as a user's subscriptions + events
tables and as a Segment-style export, imported through a mapping file and run to a risk list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CODE = ("pipeline", "features", "models", "ingest", "simulator")
STAGES = ("validate", "featurize", "train", "evaluate", "score")
pytestmark = pytest.mark.slow


def _run(module: str, cwd: Path, env: dict) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"{module} failed:\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def sample_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A copy of the code with a small simulated sample in contract format."""
    work = tmp_path_factory.mktemp("byod")
    for name in CODE:
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["sample"].update(n_accounts=400, months=22)
    params["train"]["lgbm"].update(num_boost_round=200, early_stopping_rounds=20)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {
        **{k: v for k, v in os.environ.items() if k != "CHURN_DEBUG"},
        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'throwaway-mlflow.db'}",
        "PYTHONPATH": str(work),
        "PYTHONWARNINGS": "ignore",
    }
    _run("pipeline.sample", work, env)
    return work, env


def _events(sample: Path) -> pd.DataFrame:
    """The three contract logs as one generic event table with an event type per row."""
    logins = pd.read_parquet(sample / "logins.parquet").assign(event="Logged In")
    records = pd.read_parquet(sample / "record_events.parquet")
    records["event"] = records["object_type"] + " " + records["action"]
    features = pd.read_parquet(sample / "feature_events.parquet")
    features["event"] = "Used " + features["feature"]
    columns = ["account_id", "user_id", "timestamp", "event"]
    events = pd.concat([logins[columns], records[columns], features[columns]], ignore_index=True)
    return events.sort_values(["timestamp", "account_id", "user_id", "event"], kind="stable")


def _event_types(sample: Path) -> dict:
    records = pd.read_parquet(sample / "record_events.parquet")[["object_type", "action"]].drop_duplicates()
    features = pd.read_parquet(sample / "feature_events.parquet")["feature"].unique()
    return {
        "login": ["Logged In"],
        "record": {f"{o} {a}": {"object_type": o, "action": a} for o, a in records.itertuples(index=False)},
        "feature": {f"Used {f}": str(f) for f in sorted(features)},
    }


def _subscriptions(sample: Path) -> pd.DataFrame:
    """One subscription per account; the largest accounts split into a base plan and an add-on."""
    acc = pd.read_parquet(sample / "accounts.parquet")
    subs = pd.DataFrame(
        {
            "customer": acc["account_id"],
            "start": acc["contract_start"].astype("str"),
            "end": acc["churn_date"].astype("str").where(acc["churn_date"].notna(), ""),
            "mrr": acc["mrr"],
            "quantity": acc["seats"],
            "plan_name": acc["plan"],
            "tier": acc["segment"].str.upper(),
        }
    )
    big = subs["quantity"] >= 20
    addon = subs[big].assign(mrr=subs["mrr"] * 0.25, quantity=subs["quantity"] // 4, plan_name="add-on")
    subs.loc[big, "mrr"] *= 0.75
    subs.loc[big, "quantity"] -= subs.loc[big, "quantity"] // 4
    return pd.concat([subs, addon], ignore_index=True)


def _subscription_columns() -> dict:
    return {
        "account_id": "customer",
        "start_date": "start",
        "end_date": "end",
        "mrr": "mrr",
        "seats": "quantity",
        "plan": "plan_name",
        "segment": "tier",
    }


def _segment_values() -> dict:
    return {s.upper(): s for s in ("enterprise", "mid_market", "smb")}


def write_subscriptions_shape(sample: Path, raw: Path) -> None:
    raw.mkdir()
    _subscriptions(sample).to_csv(raw / "subscriptions.csv", index=False)
    events = _events(sample).rename(columns={"account_id": "account", "user_id": "user", "timestamp": "ts"})
    events.to_parquet(raw / "events.parquet", index=False)
    mapping = {
        "subscriptions": {"columns": _subscription_columns(), "segment_values": _segment_values()},
        "events": {
            "columns": {"account_id": "account", "user_id": "user", "timestamp": "ts", "event_type": "event"}
        },
        "event_types": _event_types(sample),
    }
    (raw / "mapping.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))


def write_segment_shape(sample: Path, raw: Path) -> None:
    """Track calls (every tenth without a groupId) after one group call per user, plus identify calls."""
    raw.mkdir()
    tracks = _events(sample).rename(columns={"user_id": "userId", "account_id": "groupId"})
    tracks["groupId"] = tracks["groupId"].where(np.arange(len(tracks)) % 10 != 0)
    firsts = _events(sample).groupby(["user_id", "account_id"], as_index=False)["timestamp"].min()
    groups = pd.DataFrame(
        {"userId": firsts["user_id"], "groupId": firsts["account_id"], "timestamp": firsts["timestamp"]}
    )
    identify = groups[["userId", "timestamp"]].assign(type="identify")
    calls = pd.concat([groups.assign(type="group"), tracks.assign(type="track"), identify], ignore_index=True)
    calls["timestamp"] = calls["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    calls.to_parquet(raw / "segment.parquet", index=False)
    _subscriptions(sample).to_csv(raw / "subscriptions.csv", index=False)
    mapping = {
        "subscriptions": {"columns": _subscription_columns(), "segment_values": _segment_values()},
        "event_types": _event_types(sample),
    }
    (raw / "mapping.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))


def run_pipeline(work: Path, env: dict, raw: str, importer: str) -> dict:
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["paths"]["raw"] = raw
    params["validate"]["importer"] = importer
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for stage in STAGES:
        _run(f"pipeline.{stage}", work, env)
    return json.loads((work / params["paths"]["clean"] / "counts.json").read_text())


def check_risk_list(work: Path, n_accounts: int) -> None:
    risk = pd.read_parquet(work / "data/scores/risk_list.parquet")
    assert 50 < len(risk) <= n_accounts
    assert set(risk["tier"]) <= {"red", "yellow", "green"}
    assert risk["churn_probability"].between(0, 1).all()


def test_subscriptions_and_events_through_a_mapping_to_a_risk_list(sample_project: tuple[Path, dict]) -> None:
    work, env = sample_project
    write_subscriptions_shape(work / "data/sample", work / "data/byod_subscriptions")
    counts = run_pipeline(work, env, "data/byod_subscriptions", "subscriptions")
    n_events = len(pd.read_parquet(work / "data/byod_subscriptions/events.parquet"))
    assert counts["events"]["read"] == n_events
    assert counts["events"]["quarantined"].get("unmapped_event_type", 0) == 0
    check_risk_list(work, counts["accounts"]["used"])


def test_segment_export_through_a_mapping_to_a_risk_list(sample_project: tuple[Path, dict]) -> None:
    work, env = sample_project
    write_segment_shape(work / "data/sample", work / "data/byod_segment")
    counts = run_pipeline(work, env, "data/byod_segment", "segment")
    segment = counts["segment"]
    assert segment["read"] == segment["used"] + segment["ignored"] + sum(segment["quarantined"].values())
    assert segment["quarantined"].get("missing_group", 0) == 0  # every user had a group call first
    check_risk_list(work, counts["accounts"]["used"])
