"""Tiers: boundaries go to the riskier side, per-segment limits, capacity counts, monotone in probability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.tiers import TIER_ORDER, TierRule, assign_tiers, describe_rule


def frame(probability, segment=None, arr=None) -> pd.DataFrame:
    n = len(probability)
    arr = np.full(n, 1000.0) if arr is None else np.asarray(arr, dtype="float64")
    return pd.DataFrame(
        {
            "account_id": [f"A{i:03d}" for i in range(n)],
            "segment": segment or ["smb"] * n,
            "arr": arr,
            "churn_probability": probability,
            "arr_at_risk": np.asarray(probability) * arr,
        }
    )


@pytest.mark.parametrize(
    ("probability", "tier"),
    [(0.30, "red"), (0.2999, "yellow"), (0.12, "yellow"), (0.1199, "green"), (1.0, "red"), (0.0, "green")],
)
def test_threshold_boundary_goes_to_the_riskier_tier(probability, tier):
    assert assign_tiers(frame([probability]), TierRule("threshold", 0.30, 0.12)).iloc[0] == tier


def test_thresholds_differ_per_segment():
    rule = TierRule("threshold", 0.30, 0.12, segments={"enterprise": {"red": 0.20, "yellow": 0.05}})
    tiers = assign_tiers(frame([0.25, 0.25, 0.06, 0.06], ["enterprise", "smb", "enterprise", "smb"]), rule)
    assert tiers.tolist() == ["red", "yellow", "yellow", "green"]


def test_arr_at_risk_tiers_use_currency():
    rule = TierRule("arr_at_risk", 5000, 1000)
    tiers = assign_tiers(frame([0.1, 0.5, 0.9], arr=[100_000, 1_000, 1_000]), rule)
    assert tiers.tolist() == ["red", "green", "green"]


@pytest.mark.parametrize(
    ("unit", "red", "yellow", "expected"),
    [
        ("count", 2, 3, ["red", "red", "yellow", "green", "green"]),
        ("share", 0.2, 0.5, ["red", "yellow", "yellow", "green", "green"]),  # shares round up: 1 and 3 of 5
        ("count", 0, 0, ["green"] * 5),
        ("count", 9, 9, ["red"] * 5),
    ],
)
def test_capacity_takes_the_top_accounts(unit, red, yellow, expected):
    probs = [0.9, 0.8, 0.7, 0.6, 0.5]
    assert assign_tiers(frame(probs), TierRule("capacity", red, yellow, unit=unit)).tolist() == expected


def test_capacity_per_segment_ranks_within_each_segment():
    probs = [0.9, 0.8, 0.2, 0.1]
    segments = ["smb", "smb", "enterprise", "enterprise"]
    per_segment = assign_tiers(frame(probs, segments), TierRule("capacity", 1, 1, unit="count"))
    overall = assign_tiers(
        frame(probs, segments), TierRule("capacity", 1, 1, unit="count", per_segment=False)
    )
    assert per_segment.tolist() == ["red", "green", "red", "green"]
    assert overall.tolist() == ["red", "green", "green", "green"]


def test_capacity_ties_break_by_arr_then_id():
    tiers = assign_tiers(frame([0.5, 0.5, 0.5], arr=[10, 30, 30]), TierRule("capacity", 1, 1, unit="count"))
    assert tiers.tolist() == ["green", "red", "green"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=40), st.sampled_from(["threshold", "capacity"]))
def test_tiers_are_monotone_in_probability(probs, method):
    rule = TierRule(method, 0.3 if method == "threshold" else 0.2, 0.1 if method == "threshold" else 0.5)
    tiers = assign_tiers(frame(probs), rule).map(TIER_ORDER).to_numpy()
    order = np.argsort(-np.asarray(probs), kind="stable")
    assert (np.diff(tiers[order]) >= 0).all()


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (
            TierRule("threshold", 0.3, 0.12, segments={"enterprise": {"red": 0.25, "yellow": 0.1}}),
            "Tiers: churn probability at least 30% is red, at least 12% yellow (enterprise 25% and 10%).",
        ),
        (
            TierRule("capacity", 0.05, 0.15),
            "Tiers: the riskiest 5% of accounts in each segment are red, the riskiest 15% red or yellow.",
        ),
        (
            TierRule("capacity", 20, 60, unit="count", per_segment=False),
            "Tiers: the riskiest 20 accounts are red, the riskiest 60 red or yellow.",
        ),
        (
            TierRule("arr_at_risk", 5000, 1000),
            "Tiers: ARR at risk at least 5,000 is red, at least 1,000 yellow.",
        ),
    ],
)
def test_the_report_says_what_makes_an_account_red(rule, text):
    assert describe_rule(rule) == text
