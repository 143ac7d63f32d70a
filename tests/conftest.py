"""Fixtures shared by test modules."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pipeline.config import load_params
from simulator import simulate_to_dir


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory):
    """(directory, featurize settings): 40 simulated accounts over 8 months, laid out as the validate
    stage's clean directory, with the cut-off it records (manifest.json) 150 days after the first
    observation date."""
    params = load_params()
    cfg = params.sample.model_copy(update={"n_accounts": 40, "months": 8, "truth_paths": 10})
    featurize = params.featurize.model_copy(update={"first_observation": dt.date(cfg.start.year, 4, 1)})
    root = tmp_path_factory.mktemp("small_sample")
    simulate_to_dir(cfg, featurize, root / "clean", root / "truth")
    as_of = featurize.first_observation + dt.timedelta(days=150)
    (root / "clean" / "manifest.json").write_text(json.dumps({"as_of": as_of.isoformat()}))
    return root / "clean", featurize
