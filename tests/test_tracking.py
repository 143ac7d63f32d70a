"""MLflow store location, lineage helpers and the champion rule."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from pipeline.champion import decide_alias
from pipeline.tracking import flatten, project_root


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
    return SimpleNamespace(tags={"test_start": test_start, "test_roc_auc": str(auc)})


@pytest.mark.parametrize(
    ("champion", "auc", "alias"),
    [
        (None, 0.5, "champion"),  # the first version
        (_champion("2025-08-01", 0.80), 0.81, "champion"),  # better on the same test period
        (_champion("2025-08-01", 0.80), 0.80, "challenger"),  # a tie does not move the alias
        (_champion("2025-08-01", 0.80), 0.79, "challenger"),
        (_champion("2025-05-01", 0.70), 0.90, "challenger"),  # another test period: not comparable
    ],
)
def test_champion_moves_only_for_a_better_model_on_the_same_test_period(champion, auc, alias):
    assert decide_alias(champion, "2025-08-01", auc) == alias
