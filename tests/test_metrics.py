"""Metric functions on small hand-computed cases."""

import numpy as np
import pytest

from models.metrics import (
    expected_calibration_error,
    expected_maximum_profit,
    lift_at,
    recall_at,
    score_metrics,
)

EMP = {"clv": 200.0, "d": 10.0, "f": 1.0, "alpha": 6.0, "beta": 14.0}


def test_top_decile_lift_of_a_perfect_ranking():
    y = np.array([1] * 10 + [0] * 90)
    p = np.linspace(1, 0, 100)
    assert lift_at(y, p, 0.1) == pytest.approx(10.0)
    assert recall_at(y, p, 0.1) == pytest.approx(1.0)


def test_lift_of_a_reversed_ranking_is_zero():
    y = np.array([1] * 10 + [0] * 90)
    assert lift_at(y, np.linspace(0, 1, 100), 0.1) == 0.0


def test_ece_is_zero_when_each_bin_matches_its_rate_and_grows_when_it_does_not():
    y = np.array([0, 0, 0, 1] * 25)
    assert expected_calibration_error(y, np.full(100, 0.25), 10) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.55), 10) == pytest.approx(0.30)


def test_emp_is_higher_for_a_better_model_and_zero_for_a_useless_one():
    rng = np.random.default_rng(0)
    y = (rng.random(5000) < 0.1).astype(int)
    good = y * 0.6 + rng.random(5000) * 0.5
    noise = rng.random(5000)
    emp_good, share_good = expected_maximum_profit(y, good, **EMP)
    emp_noise, _ = expected_maximum_profit(y, noise, **EMP)
    assert emp_good > emp_noise >= 0.0
    assert 0.0 < share_good < 0.5


def test_score_metrics_has_every_key_and_sane_ranges():
    rng = np.random.default_rng(1)
    y = (rng.random(2000) < 0.2).astype(int)
    p = np.clip(0.2 + 0.3 * (y - 0.2) + rng.normal(0, 0.1, 2000), 0, 1)
    m = score_metrics(y, p, capacity_share=0.1, bins=10, emp=EMP)
    assert set(m) >= {
        "roc_auc",
        "pr_auc",
        "lift_top_decile",
        "recall_at_capacity",
        "brier",
        "log_loss",
        "ece",
        "emp",
    }
    assert 0.5 < m["roc_auc"] <= 1.0 and m["lift_top_decile"] > 1.0
