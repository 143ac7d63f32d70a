"""Reason texts and the top-k selection behind them."""

from __future__ import annotations

import numpy as np
import pytest

from models.reasons import describe, format_value, guess_unit, top_features
from tests.test_risk_list import REGISTRY


def test_top_features_picks_the_largest_of_each_sign_and_leaves_empty_slots():
    contrib = np.array([[0.5, -0.2, 0.1, 0.0], [-0.1, -0.3, -0.2, -0.4]])
    index, value = top_features(contrib, 3, 1)
    assert index.tolist() == [[0, 2, -1], [-1, -1, -1]]
    assert value.tolist() == [[0.5, 0.1, 0.0], [0.0, 0.0, 0.0]]
    index, value = top_features(contrib, 2, -1)
    assert index.tolist() == [[1, -1], [3, 1]]
    assert value.tolist() == [[-0.2, 0.0], [-0.4, -0.3]]


@pytest.mark.parametrize(
    ("name", "value", "usual", "text"),
    [
        ("logins_count_30d", 4.0, (18.0, 45.0), "Logins in the last 30 days: 4, below the usual 18–45"),
        ("logins_count_30d", 30.0, (18.0, 45.0), "Logins in the last 30 days: 30, within the usual 18–45"),
        (
            "days_since_last_login",
            40.0,
            (1.0, 6.0),
            "Days since the last login: 40 days, above the usual 1–6 days",
        ),
        ("active_users_ratio_30d", 0.125, (0.4, 0.7), "Share of seats active: 12%, below the usual 40%–70%"),
        (
            "logins_change_30d",
            -0.62,
            (-0.1, 0.15),
            "Logins in the last 30 days compared with the 30 days before fell 62% (usually −10% to +15%)",
        ),
        ("logins_count_30d", float("nan"), (18.0, 45.0), "Logins in the last 30 days: no data"),
        ("segment", "smb", None, "Segment: smb"),
        ("features_new_90d", 3.0, (0.0, 1.0), "New features adopted this quarter: 3, above the usual 0–1"),
    ],
)
def test_describe_reads_as_plain_words(name, value, usual, text):
    assert describe(name, value, usual, REGISTRY) == text


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("logins_change_30d", "percent change"),
        ("active_users_ratio_30d", "ratio"),
        ("days_since_last_login", "days"),
    ],
)
def test_unknown_columns_get_a_unit_from_their_name(name, unit):
    assert guess_unit(name) == unit


def test_small_negative_values_do_not_print_minus_zero():
    assert format_value(-0.01, "") == "0"
    assert format_value(-0.001, "percent change") == "0%"
