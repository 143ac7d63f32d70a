"""MLflow store location, lineage helpers and the champion rule."""

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from pipeline.champion import auc_tag, decide_alias
from pipeline.tracking import flatten, git_dirty, md5_of_test_rows, project_root


@pytest.mark.parametrize(
    ("cwd", "root"),
    [
        ("/home/me/churn", "/home/me/churn"),
        ("/home/me/churn/.dvc/tmp/exps/tmp8a7f/", "/home/me/churn"),  # dvc exp run --temp / --queue
        ("/home/me/churn/.dvc/tmp/exps/run/abc123", "/home/me/churn"),
    ],
)
def test_project_root_is_found_above_dvc_temporary_copies(cwd, root):
    assert project_root(Path(cwd)) == Path(root)


def test_flatten_names_params_like_dvc():
    assert flatten({"train": {"lgbm": {"num_leaves": 15}, "calibration": "isotonic"}}) == {
        "train.lgbm.num_leaves": "15",
        "train.calibration": "isotonic",
    }


def _champion(test_rows, auc):
    return SimpleNamespace(tags={"test_rows_md5": test_rows, "test_roc_auc": auc_tag(auc)})


@pytest.mark.parametrize(
    ("champion", "auc", "alias"),
    [
        (None, 0.5, "champion"),  # the first version
        (_champion("rows-a", 0.80), 0.81, "champion"),  # better on the same test rows
        (_champion("rows-a", 0.80), 0.80, "challenger"),  # a tie does not move the alias
        (_champion("rows-a", 0.868281255259703), 0.868281255259703, "challenger"),  # nor a re-run's
        (_champion("rows-a", 0.80), 0.79, "challenger"),
        (_champion("rows-b", 0.70), 0.90, "challenger"),  # other rows (data, period): not comparable
        (SimpleNamespace(tags={"test_roc_auc": "0.7"}), 0.90, "challenger"),  # a version without the tag
    ],
)
def test_champion_moves_only_for_a_better_model_on_the_same_test_rows(champion, auc, alias):
    assert decide_alias(champion, "rows-a", auc) == alias


def _predictions(ids, labels, period="test"):
    return pd.DataFrame(
        {
            "account_id": ids,
            "observation_date": pd.Timestamp("2025-08-01", tz="UTC"),
            "label": pd.array(labels, dtype="Int8"),
            "period": period,
            "p_lightgbm": 0.5,
        }
    )


def test_test_rows_md5_sees_accounts_and_labels_of_the_test_period_only():
    base = _predictions(["a", "b"], [0, 1])
    same = pd.concat([_predictions(["b", "a"], [1, 0]), _predictions(["z"], [1], "valid")])
    same["p_lightgbm"] = 0.9  # another model's scores on the same rows
    assert md5_of_test_rows(same) == md5_of_test_rows(base)
    assert md5_of_test_rows(_predictions(["a", "c"], [0, 1])) != md5_of_test_rows(base)
    assert md5_of_test_rows(_predictions(["a", "b"], [0, 0])) != md5_of_test_rows(base)


def test_git_dirty_sees_changed_code_or_params_but_not_the_pipelines_own_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert git_dirty() == "unknown"
    for args in (["init", "-q"], ["config", "user.email", "t@example.com"], ["config", "user.name", "t"]):
        subprocess.run(["git", *args], check=True)
    for name in ("params.yaml", "dvc.lock", "reports/metrics.json"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("a\n")
    subprocess.run(["git", "add", "-A"], check=True)
    subprocess.run(["git", "commit", "-qm", "c"], check=True)
    (tmp_path / "untracked.txt").write_text("x\n")
    assert git_dirty(("dvc.lock", "reports")) == "false"
    (tmp_path / "dvc.lock").write_text("b\n")
    (tmp_path / "reports/metrics.json").write_text("b\n")
    assert git_dirty(("dvc.lock", "reports")) == "false"
    (tmp_path / "params.yaml").write_text("b\n")
    assert git_dirty(("dvc.lock", "reports")) == "true"


def test_the_champion_alias_on_a_real_registry(tmp_path):
    """A first version becomes champion; evaluate running again on it leaves it so; an equal one is the
    challenger, and so is a better one tested on other rows (other data); a better one takes over."""
    from mlflow.tracking import MlflowClient

    from pipeline.champion import promote_if_better

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("e", artifact_location=(tmp_path / "artifacts").as_uri())
    client.create_registered_model("m")
    params = SimpleNamespace(train=SimpleNamespace(registered_model="m"))

    def new_version(rows: str = "rows-a") -> str:
        run = client.create_run(experiment, tags={"test_start": "2025-08-01", "test_rows_md5": rows})
        client.create_model_version("m", (tmp_path / "model").as_uri(), run_id=run.info.run_id)
        return run.info.run_id

    first = new_version()
    assert promote_if_better(params, first, 0.8, client) == "champion"
    assert promote_if_better(params, first, 0.8, client) == "champion"
    equal = new_version()
    assert promote_if_better(params, equal, 0.8, client) == "challenger"
    assert promote_if_better(params, new_version("rows-b"), 0.95, client) == "challenger"
    better = new_version()
    assert promote_if_better(params, better, 0.81, client) == "champion"
    assert client.get_model_version_by_alias("m", "champion").run_id == better
    tags = client.get_model_version_by_alias("m", "champion").tags
    assert tags["test_rows_md5"] == "rows-a"
    assert tags["test_roc_auc"] == auc_tag(0.81)
