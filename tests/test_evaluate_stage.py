"""The evaluate stage's inputs: the oracle belongs to the simulator's sample only."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from pipeline.evaluate import load_test


def _setup(tmp_path: Path, raw: str) -> SimpleNamespace:
    paths = SimpleNamespace(
        model=tmp_path / "models", truth=tmp_path / "truth", sample=tmp_path / "sample", raw=tmp_path / raw
    )
    for path in (paths.model, paths.truth, paths.sample, paths.raw):
        path.mkdir(exist_ok=True)
    date = pd.Timestamp("2025-08-01", tz="UTC")
    pd.DataFrame(
        {"account_id": ["C-1", "C-2", "C-3"], "observation_date": date, "period": ["test", "test", "valid"]}
    ).to_parquet(paths.model / "predictions.parquet")
    # the sample's truth: other account ids than the user's own data
    pd.DataFrame(
        {"account_id": ["A1", "A2"], "observation_date": date.tz_localize(None), "p_churn": [0.1, 0.2]}
    ).to_parquet(paths.truth / "truth.parquet")
    return SimpleNamespace(paths=paths)


def test_your_own_data_is_evaluated_without_the_samples_oracle(tmp_path):
    test, models = load_test(_setup(tmp_path, raw="mine"))
    assert "oracle" not in models
    assert test["account_id"].tolist() == ["C-1", "C-2"]


def test_the_sample_without_a_truth_for_every_test_row_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no true probability for 2 test snapshots"):
        load_test(_setup(tmp_path, raw="sample"))
