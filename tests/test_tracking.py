"""MLflow store location, lineage helpers and the champion rule."""

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.champion import auc_tag, decide_alias
from pipeline.tracking import flatten, git_dirty, project_root


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


def _champion(test_start, auc):
    return SimpleNamespace(tags={"test_start": test_start, "test_roc_auc": auc_tag(auc)})


@pytest.mark.parametrize(
    ("champion", "auc", "alias"),
    [
        (None, 0.5, "champion"),  # the first version
        (_champion("2025-08-01", 0.80), 0.81, "champion"),  # better on the same test period
        (_champion("2025-08-01", 0.80), 0.80, "challenger"),  # a tie does not move the alias
        (_champion("2025-08-01", 0.868281255259703), 0.868281255259703, "challenger"),  # nor a re-run's
        (_champion("2025-08-01", 0.80), 0.79, "challenger"),
        (_champion("2025-05-01", 0.70), 0.90, "challenger"),  # another test period: not comparable
    ],
)
def test_champion_moves_only_for_a_better_model_on_the_same_test_period(champion, auc, alias):
    assert decide_alias(champion, "2025-08-01", auc) == alias


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
    challenger; a better one takes over."""
    from mlflow.tracking import MlflowClient

    from pipeline.champion import promote_if_better

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("e", artifact_location=(tmp_path / "artifacts").as_uri())
    client.create_registered_model("m")
    params = SimpleNamespace(train=SimpleNamespace(registered_model="m"))

    def new_version() -> str:
        run = client.create_run(experiment, tags={"test_start": "2025-08-01"})
        client.create_model_version("m", (tmp_path / "model").as_uri(), run_id=run.info.run_id)
        return run.info.run_id

    first = new_version()
    assert promote_if_better(params, first, 0.8, client) == "champion"
    assert promote_if_better(params, first, 0.8, client) == "champion"
    equal = new_version()
    assert promote_if_better(params, equal, 0.8, client) == "challenger"
    better = new_version()
    assert promote_if_better(params, better, 0.81, client) == "champion"
    assert client.get_model_version_by_alias("m", "champion").run_id == better
    assert client.get_model_version_by_alias("m", "challenger").run_id == equal
