"""One `dvc repro` of every stage on a small sample in a temporary git repo, with a throwaway MLflow store;
then an MLflow server on loopback over that store, queried through its REST API; an experiment in a
temporary copy (`dvc exp run --temp`) that logs to the project's own store; the offline plots page."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CODE = ("pipeline", "features", "models", "ingest", "simulator", "dvc.yaml")
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _small_params() -> dict:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["sample"].update(n_accounts=400, months=22)
    params["train"]["lgbm"].update(num_boost_round=300, early_stopping_rounds=30)
    return params


def _run(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("project")
    for name in CODE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, work / name)
    (work / "params.yaml").write_text(yaml.safe_dump(_small_params(), sort_keys=False))
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'throwaway-mlflow.db'}",
        "PYTHONPATH": str(work),
    }
    env |= {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
            for what, value in (("NAME", "test"), ("EMAIL", "test@example.com"))}  # fmt: skip
    (work / ".gitignore").write_text("__pycache__/\n/*mlflow.db\n/mlartifacts/\n")
    _run(["git", "init", "-q"], work, env)
    _run(["dvc", "init", "-q"], work, env)
    shutil.copy(ROOT / ".dvcignore", work / ".dvcignore")  # bytecode beside the code is not a dependency
    _run(["dvc", "repro"], work, env)
    _run(["git", "add", "-A"], work, env)
    _run(["git", "commit", "-qm", "pipeline run"], work, env)  # dvc exp and dvc plots diff need a commit
    return work, env


def test_repro_writes_every_output(project):
    work, _ = project
    risk = pd.read_parquet(work / "data/scores/risk_list.parquet")
    assert len(risk) > 50
    assert set(risk["tier"]) <= {"red", "yellow", "green"}
    assert risk["churn_probability"].between(0, 1).all()
    csv_bytes = (work / "data/scores/risk_list.csv").read_bytes()
    assert csv_bytes.startswith(b"\xef\xbb\xbfaccount_id,"), "no UTF-8 byte-order mark: Excel misreads '–'"
    assert (
        pd.read_csv(work / "data/scores/risk_list.csv")["account_id"].tolist() == risk["account_id"].tolist()
    )
    counts = json.loads((work / "data/clean/counts.json").read_text())
    assert counts, "validate wrote no counts"
    metrics = json.loads((work / "reports/metrics.json").read_text())
    for model in ("lightgbm", "logreg", "health_score", "oracle"):
        assert {"roc_auc", "pr_auc", "lift_top_decile", "brier", "ece", "emp"} <= set(metrics[model])
    assert (work / "data/models/lgbm.txt").read_text().startswith("tree")


def test_churn_score_cli_scores_a_date_and_refuses_bad_input_in_one_line(project, tmp_path):
    work, env = project
    churn = str(BIN / "churn")
    dates = pd.read_parquet(work / "data/scores/risk_list.parquet")["observation_date"]
    latest = pd.Timestamp(dates.iloc[0]).date()
    earlier = tmp_path / "earlier"
    # from another directory: params.yaml's paths are the project's, --out is the caller's
    done = _run(
        [churn, "score", "--params", str(work / "params.yaml"),
         "--as-of", f"{latest.year - 1}-{latest.month:02d}-15", "--out", "earlier"],
        tmp_path,
        env,
    )  # fmt: skip
    assert "the latest observation date on or before" in done.stdout
    assert done.stdout.rstrip().endswith("-> earlier")
    assert {p.name for p in earlier.iterdir()} == {
        "risk_list.parquet", "risk_list.csv", "changes.parquet", "changes.csv", "report.html"
    }  # fmt: skip

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "mine.txt").write_text("keep me")
    later = str(work / "data/scores/risk_list.parquet")
    for args, message in [
        (["--out", str(notes)], "holds other files (mine.txt)"),  # replaced as a whole: refused
        (["--model", str(tmp_path / "none"), "--out", str(tmp_path / "a")], "is not a model directory"),
        (["--as-of", "2000-01-01", "--out", str(tmp_path / "b")], "no observation date on or before"),
        (["--previous", later, "--as-of", str(latest.replace(day=1) - pd.Timedelta(days=40)),
          "--out", str(tmp_path / "c")], "not before the scored date"),
    ]:  # fmt: skip
        result = subprocess.run([churn, "score", *args], cwd=work, env=env, capture_output=True, text=True)
        assert result.returncode == 2, result.stderr[-2000:]
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert (notes / "mine.txt").read_text() == "keep me"


def test_second_repro_changes_nothing(project):
    work, env = project
    status = _run(["dvc", "status"], work, env)
    assert "up to date" in status.stdout


def test_a_fresh_clone_logs_its_evaluation_to_its_own_store(project, tmp_path):
    """The reports are in git, so a fresh clone would find evaluate up to date and skip it, leaving its
    empty MLflow store without test metrics or a champion; evaluate's git-ignored record prevents that.
    The clone's pipeline gives the very same outputs, so its dvc.lock and reports stay unchanged."""
    work, env = project
    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", str(work), str(clone)], tmp_path, env)
    store = f"sqlite:///{tmp_path / 'clone-mlflow.db'}"
    env = {**env, "MLFLOW_TRACKING_URI": store, "PYTHONPATH": str(clone)}
    out = _run(["dvc", "repro", "evaluate"], clone, env).stdout
    assert "Running stage 'evaluate'" in out
    assert _run(["git", "status", "--porcelain"], clone, env).stdout == ""

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=store)
    runs = client.search_runs([client.get_experiment_by_name("churn").experiment_id])
    assert {run.data.tags["model"] for run in runs} == {"lightgbm", "logreg", "health_score"}
    assert all("test_roc_auc" in run.data.metrics for run in runs)
    assert client.get_model_version_by_alias("churn-lgbm", "champion").run_id in {r.info.run_id for r in runs}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, payload: dict | None = None) -> dict:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_mlflow_server_shows_all_three_models_with_the_same_metrics(project):
    work, env = project
    port = _free_port()
    server = subprocess.Popen(
        ["mlflow", "server", "--backend-store-uri", env["MLFLOW_TRACKING_URI"], "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/2.0/mlflow"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                experiment = _get(f"{base}/experiments/get-by-name?experiment_name=churn")["experiment"]
                break
            except OSError:
                assert time.monotonic() < deadline, "MLflow server did not start"
                time.sleep(1)
        runs = _get(f"{base}/runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    by_model = {}
    for run in runs:
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        by_model[tags["model"]] = ({m["key"] for m in run["data"].get("metrics", [])}, tags)
    assert set(by_model) == {"lightgbm", "logreg", "health_score"}
    test_keys = [{k for k in keys if k.startswith("test_")} for keys, _ in by_model.values()]
    assert test_keys[0] and all(keys == test_keys[0] for keys in test_keys)
    for _, tags in by_model.values():
        assert {"git_commit", "git_dirty", "data_version", "raw_path", "as_of", "test_rows_md5"} <= set(tags)
        assert tags["as_of"] == json.loads((work / "data/clean/manifest.json").read_text())["as_of"]
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    figures = {}
    for run in runs:
        model = next(t["value"] for t in run["data"]["tags"] if t["key"] == "model")
        figures[model] = {Path(a.path).stem for a in client.list_artifacts(run["info"]["run_id"], "figures")}
    assert figures["logreg"] == figures["health_score"] == {"roc", "pr", "calibration", "gains"}
    assert figures["lightgbm"] == {"roc", "pr", "calibration", "gains", "importance", "shap_summary"}


def test_plots_page_renders_offline(project):
    work, env = project
    _run([str(BIN / "python"), "-m", "pipeline.plots"], work, env)
    page = (work / "reports/plots.html").read_text()
    assert page.count("<svg") >= 4, "the ROC, PR, reliability and gains plots were not drawn"
    assert "data:image/png;base64," in page
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']https?:""", page), "the page loads something from the network"
    assert not (work / "dvc_plots").exists(), "DVC's image copies were left in the project"


def test_temp_experiment_logs_to_the_project_store_and_shows_in_metrics_diff(project):
    work, env = project
    env = {k: v for k, v in env.items() if k != "MLFLOW_TRACKING_URI"}  # the default store
    _run(["dvc", "exp", "run", "--temp", "-n", "leaves7", "-S", "train.lgbm.num_leaves=7"], work, env)
    diff = json.loads(_run(["dvc", "metrics", "diff", "HEAD", "leaves7", "--json"], work, env).stdout)
    changed = diff.get("reports/metrics.json", {})
    assert any(key.startswith("lightgbm.") for key in changed), f"no LightGBM metric changed: {diff}"

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{work / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("churn")
    assert experiment is not None, "the temporary copy did not log to the project's mlflow.db"
    runs = client.search_runs([experiment.experiment_id])
    leaves = {run.data.tags["model"]: run.data.params.get("train.lgbm.num_leaves") for run in runs}
    assert leaves == {"lightgbm": "7", "logreg": "7", "health_score": "7"}
    assert {run.data.tags.get("dvc_experiment") for run in runs} == {"leaves7"}
    assert all(run.data.tags.get("evaluate.capacity_share") == "0.1" for run in runs)


def test_an_experiment_on_evaluate_params_alone_evaluates_the_same_runs_again(project):
    """Train does not run again, so evaluate logs to train's runs once more, with the new settings."""
    work, env = project
    _run(["dvc", "exp", "run", "--temp", "-n", "capacity20", "-S", "evaluate.capacity_share=0.2"], work, env)

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("churn")
    runs = client.search_runs([experiment.experiment_id], "tags.`evaluate.capacity_share` = '0.2'")
    assert {run.data.tags["model"] for run in runs} == {"lightgbm", "logreg", "health_score"}
    assert all("test_recall_at_capacity" in run.data.metrics for run in runs)
