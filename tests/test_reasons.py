"""Reason texts and the top-k selection behind them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.registry import describe as describe_spec
from models.encoding import FeatureSpec
from models.reasons import (
    Standing,
    as_printed,
    describe,
    describe_many,
    driver_columns,
    format_value,
    guess_unit,
    reason_columns,
    standing_words,
    top_features,
    value_changed,
)
from tests.test_risk_list import REGISTRY


def test_top_features_picks_the_largest_of_each_sign_and_leaves_empty_slots():
    contrib = np.array([[0.5, -0.2, 0.1, 0.0], [-0.1, -0.3, -0.2, -0.4]])
    index, value = top_features(contrib, 3, 1)
    assert index.tolist() == [[0, 2, -1], [-1, -1, -1]]
    assert value.tolist() == [[0.5, 0.1, 0.0], [0.0, 0.0, 0.0]]
    index, value = top_features(contrib, 2, -1)
    assert index.tolist() == [[1, -1], [3, 1]]
    assert value.tolist() == [[-0.2, 0.0], [-0.4, -0.3]]


def test_top_features_puts_the_first_of_equal_contributions_first_and_keeps_its_input():
    contrib = np.array([[0.1, 0.3, 0.3, 0.3]])
    index, value = top_features(contrib, 2, 1)
    assert index.tolist() == [[1, 2]]
    assert value.tolist() == [[0.3, 0.3]]
    assert contrib.tolist() == [[0.1, 0.3, 0.3, 0.3]]
    assert top_features(np.empty((0, 4)), 3, 1)[0].shape == (0, 3)


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
            "Logins in the last 30 days compared with the 30 days before: fell 62% (usually −10% to +15%)",
        ),
        ("logins_count_30d", float("nan"), (18.0, 45.0), "Logins in the last 30 days: no data"),
        ("plan", "pro", None, "Plan: pro"),  # not in REGISTRY: named after its column
        ("features_new_90d", 3.0, (0.0, 1.0), "New features adopted this quarter: 3, above the usual 0–1"),
    ],
)
def test_describe_reads_as_plain_words(name, value, usual, text):
    assert describe(name, value, usual, REGISTRY) == text


@pytest.mark.parametrize(
    "name, text",
    [
        ("days_to_first_integrations", "first use of integrations (time to value): not used yet"),
        ("days_since_last_login", "Days since anyone last logged in: no login ever"),
        ("logins_change_pct_30d", "30 days before: no logins in the 30 days before"),
        ("logins_count_30d", "Logins in the last 30 days: no data"),
    ],
)
def test_an_empty_value_says_what_it_means(name, text):
    registry = {name: describe_spec(name)}
    assert describe(name, float("nan"), (1.0, 2.0), registry).endswith(text)


def test_a_value_inside_the_usual_range_says_where_it_stands():
    text = describe("logins_count_30d", 22.0, (18.0, 45.0), REGISTRY, shares=(0.3, 0.65))
    assert text == "Logins in the last 30 days: 22, lower than 65% of accounts (usually 18–45)"
    outside = describe("logins_count_30d", 4.0, (18.0, 45.0), REGISTRY, shares=(0.0, 0.9))
    assert outside == "Logins in the last 30 days: 4, below the usual 18–45"


@pytest.mark.parametrize(
    ("below", "above", "words"),
    [
        (0.2, 0.7, "lower than 70% of accounts"),
        (0.55, 0.3, "higher than 55% of accounts"),
        (0.2, 0.2, "as for 60% of accounts"),
        (0.4, 0.45, "near the median of accounts"),
        (0.39, 0.55, "lower than 55% of accounts"),
    ],
)
def test_standing_words(below, above, words):
    assert standing_words(below, above) == words


def test_standing_counts_accounts_strictly_below_and_above_and_skips_missing_values():
    frame = pd.DataFrame({"x": [1.0, 2.0, 2.0, 3.0, np.nan, 5.0]})
    below, above = Standing(frame).shares("x", np.array([2.0, 4.0, 0.0]))
    assert below.tolist() == [0.2, 0.8, 0.0]
    assert above.tolist() == [0.4, 0.2, 1.0]


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
    assert format_value(-0.0001, "") == "0"
    assert format_value(-0.001, "percent change") == "0%"


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234.0, "1,234"), (123.4, "123"), (12.34, "12.3"), (1.234, "1.23"), (1.0, "1"), (0.43, "0.43"),
     (0.043, "0.043"), (0.0043, "0.004"), (-0.043, "−0.043")],
)  # fmt: skip
def test_small_rates_keep_two_significant_digits(value, text):
    assert format_value(value, "") == text


def test_one_day_is_singular():
    assert format_value(1.0, "days") == "1 day"
    assert format_value(2.0, "days") == "2 days"
    assert format_value(0.0, "days") == "0 days"


@pytest.mark.parametrize(
    ("before", "now", "changed"),
    [
        (
            pd.Series([1.0, np.nan, np.nan, 2.0]),
            pd.Series([1.0, np.nan, 3.0, 2.5]),
            [False, False, True, True],
        ),
        (
            pd.Series([1, pd.NA, 4], dtype="Int64"),
            pd.Series([1, pd.NA, pd.NA], dtype="Int64"),
            [False, False, True],
        ),
        (pd.Series(["annual", None, "monthly"]), pd.Series(["annual", None, "annual"]), [False, False, True]),
        (
            pd.Series(["smb", "smb"], dtype="category"),
            pd.Series(["smb", None], dtype="category"),
            [False, True],
        ),
    ],
)
def test_value_changed_treats_missing_twice_as_unchanged(before, now, changed):
    assert value_changed(before, now).tolist() == changed


def test_a_feature_whose_value_did_not_change_is_no_driver():
    """Its contribution moved (through another feature, in the trees), but its value did not: that share
    goes to the remainder, and the drivers plus the remainder still add up to the change."""
    spec = FeatureSpec(("contract_type", "logins_count_30d", "active_users_ratio_30d"), {})
    before = pd.DataFrame(
        {"contract_type": ["annual"], "logins_count_30d": [40.0], "active_users_ratio_30d": [0.6]}
    )
    now = pd.DataFrame(
        {"contract_type": ["annual"], "logins_count_30d": [4.0], "active_users_ratio_30d": [0.6]}
    )
    contrib_before = np.array([[0.0, -0.5, 0.1, -2.0]])  # the last column is the bias
    contrib_now = np.array([[0.9, 0.3, 0.1, -2.0]])
    out = driver_columns(now, before, spec, contrib_now, contrib_before, n_drivers=2, registry=REGISTRY)
    assert out.loc[0, "driver_1"] == "Logins in the last 30 days: 40 → 4"
    assert out.loc[0, "driver_1_contribution"] == pytest.approx(0.8)
    assert out.loc[0, "driver_2"] is None
    assert out.loc[0, "driver_remainder"] == pytest.approx(0.9)


def test_a_driver_moved_the_way_the_score_did():
    """Into red, seats active rising 12% → 18% is no driver, whatever the trees make of it (its share goes
    to the remainder); logins falling 40 → 4 is. Deletes have no direction: 9, above the usual 0–4,
    drive the rise."""
    names = ("active_users_ratio_30d", "logins_count_30d", "records_delete_count_90d")
    spec = FeatureSpec(names, {})
    registry = {name: describe_spec(name) for name in names}
    before = pd.DataFrame(
        {"active_users_ratio_30d": [0.12], "logins_count_30d": [40.0], "records_delete_count_90d": [1.0]}
    )
    now = pd.DataFrame(
        {"active_users_ratio_30d": [0.18], "logins_count_30d": [4.0], "records_delete_count_90d": [9.0]}
    )
    contrib_before = np.array([[0.0, 0.0, 0.0, -2.0]])
    contrib_now = np.array([[0.9, 0.3, 0.2, -2.0]])
    ranges = {"records_delete_count_90d": (0.0, 4.0)}
    out = driver_columns(
        now, before, spec, contrib_now, contrib_before, n_drivers=3, registry=registry, ranges=ranges
    )
    assert out.loc[0, "driver_1"] == "Logins in the last 30 days: 40 → 4"
    assert out.loc[0, "driver_1_feature"] == "logins_count_30d"
    assert out.loc[0, "driver_2"].startswith("Records deleted in the last 90 days: 1 → 9")
    assert out.loc[0, "driver_3"] is None
    assert out.loc[0, "driver_remainder"] == pytest.approx(0.9)


def test_a_driver_is_a_change_as_printed_with_a_direction_and_a_share_of_the_move():
    """Into red: deletes 7 → 8 stay inside the usual 0–9 (no direction, nothing unusual); the weekend
    share 6.2% → 5.9% prints '6% → 6%'; trend 'no data → +50%' has no direction to check; logins 30 → 29
    carry 0.01 of a 1.0 move. None of them is a driver; logins 40 → 4 at account 1 is."""
    names = (
        "records_delete_count_90d",
        "weekend_logins_share_90d",
        "logins_change_pct_30d",
        "logins_count_30d",
    )
    spec = FeatureSpec(names, {})
    registry = {name: describe_spec(name) for name in names}
    before = pd.DataFrame(
        {
            "records_delete_count_90d": [7.0, 7.0],
            "weekend_logins_share_90d": [0.062, 0.062],
            "logins_change_pct_30d": [np.nan, np.nan],
            "logins_count_30d": [30.0, 40.0],
        }
    )
    now = before.assign(
        records_delete_count_90d=8.0, weekend_logins_share_90d=0.059, logins_change_pct_30d=0.5
    )
    now["logins_count_30d"] = [29.0, 4.0]
    contrib_before = np.zeros((2, 5))
    contrib_now = np.array([[0.3, 0.3, 0.39, 0.01, 0.0], [0.3, 0.3, 0.0, 0.4, 0.0]])
    ranges = {"records_delete_count_90d": (0.0, 9.0)}
    out = driver_columns(
        now, before, spec, contrib_now, contrib_before, n_drivers=2, registry=registry, ranges=ranges
    )
    assert pd.isna(out.loc[0, "driver_1"]) and out.loc[1, "driver_1"] == "Logins in the last 30 days: 40 → 4"
    assert out["driver_remainder"].tolist() == pytest.approx([1.0, 0.6])


def test_account_facts_are_listed_apart_from_the_drivers():
    """The renewal coming 30 days closer moved the score most, but the drivers are behaviour: it is the
    context driver, and drivers + context driver + remainder still add up to the change. Without a
    context slot its share goes to the remainder."""
    names = ("days_to_renewal", "logins_count_30d")
    spec = FeatureSpec(names, {})
    registry = {name: describe_spec(name) for name in names}
    before = pd.DataFrame({"days_to_renewal": [120.0], "logins_count_30d": [40.0]})
    now = pd.DataFrame({"days_to_renewal": [90.0], "logins_count_30d": [30.0]})
    contrib_before = np.array([[0.0, 0.0, -2.0]])
    contrib_now = np.array([[0.7, 0.2, -2.0]])
    out = driver_columns(
        now, before, spec, contrib_now, contrib_before, n_drivers=1, registry=registry, n_context=1
    )
    assert out.loc[0, "driver_1"] == "Logins in the last 30 days: 40 → 30"
    assert out.loc[0, "context_driver_1"].startswith("Days until the next contract renewal: 120")
    assert out.loc[0, "context_driver_1_feature"] == "days_to_renewal"
    listed = out.loc[0, ["driver_1_contribution", "context_driver_1_contribution"]]
    assert listed.sum() + out.loc[0, "driver_remainder"] == pytest.approx(0.9)
    alone = driver_columns(now, before, spec, contrib_now, contrib_before, n_drivers=1, registry=registry)
    assert "context_driver_1" not in alone.columns
    assert alone.loc[0, "driver_remainder"] == pytest.approx(0.7)


def test_a_behaviour_without_direction_explains_only_unusual_values_and_never_protects():
    """Deletes have no healthy direction: 14, more than the usual 1–9, is a reason; 3 is not, and 0
    deletes do not protect a dormant account. The left-out shares stay in the remainder."""
    deletes = "records_delete_count_90d"
    registry = {deletes: describe_spec(deletes)}
    spec = FeatureSpec((deletes,), {})
    frame = pd.DataFrame({deletes: [14.0, 3.0, 0.0]})
    contrib = np.array([[0.5, -2.0], [0.5, -2.0], [-0.4, -2.0]])
    out = reason_columns(frame, spec, contrib, {deletes: (1.0, 9.0)}, 1, 1, registry=registry)
    named = out.fillna("-")
    assert named["reason_1_feature"].tolist() == [deletes, "-", "-"]
    assert named["protective_1_feature"].tolist() == ["-", "-", "-"]
    assert out["contribution_remainder"].tolist() == pytest.approx([-2.0, -1.5, -2.4])
    weekend = "weekend_logins_share_90d"  # 7.05% prints as 7%: not above the usual 3%–7%
    spec = FeatureSpec((weekend,), {})
    frame = pd.DataFrame({weekend: [0.0705, 0.12]})
    contrib = np.array([[0.5, -2.0], [0.5, -2.0]])
    out = reason_columns(
        frame, spec, contrib, {weekend: (0.03, 0.07)}, 1, 0, registry={weekend: describe_spec(weekend)}
    )
    assert out["reason_1_feature"].fillna("-").tolist() == ["-", weekend]


def test_an_empty_value_protects_nothing():
    """No logins in the 30 days before: the trend is empty, and says nothing healthy about a dormant
    account, however the trees score it; as a reason it may stand."""
    trend = "logins_change_pct_30d"
    registry = {trend: describe_spec(trend)}
    spec = FeatureSpec((trend,), {})
    frame = pd.DataFrame({trend: [np.nan, np.nan, 0.5, -0.5]})
    contrib = np.array([[-0.3, -2.0], [0.3, -2.0], [-0.3, -2.0], [0.3, -2.0]])
    out = reason_columns(frame, spec, contrib, {}, 1, 1, registry=registry).fillna("-")
    assert out["protective_1_feature"].tolist() == ["-", "-", trend, "-"]
    assert out["reason_1_feature"].tolist() == ["-", trend, "-", trend]


@pytest.mark.parametrize(
    ("values", "unit", "printed"),
    [
        ([0.3712, 0.3749, 0.375], "ratio", [0.37, 0.37, 0.38]),
        ([-0.6249, 0.004], "percent change", [-0.62, 0.0]),
        ([1234.56], "currency", [1235.0]),
        (
            [123.4, 12.34, 1.234, 0.0432, 0.00432, 7.0, np.nan],
            "count",
            [123.0, 12.3, 1.23, 0.043, 0.004, 7.0, np.nan],
        ),
    ],
)
def test_values_are_worded_as_printed(values, unit, printed):
    """Values that print alike are worded once (a million jittered accounts' reasons would otherwise word
    a million texts), and the text is the printed value's."""
    np.testing.assert_allclose(as_printed(np.array(values), unit), printed)
    for value, rounded in zip(values, printed, strict=True):
        assert format_value(value, unit) == format_value(rounded, unit)


def test_a_usual_change_of_nothing_reads_as_one_value():
    """Most accounts' MRR did not change: the usual range is '0%', not '0% to 0%'."""
    mrr = "mrr_change_pct_90d"
    text = describe(mrr, -0.1, (0.0, 0.0), {mrr: describe_spec(mrr)})
    assert text == "Monthly revenue against 90 days before: fell 10% (usually 0%)"


def test_a_value_printed_as_the_edge_of_the_usual_range_is_within_it():
    """7.4% prints as 7%: '7%, above the usual 3%–7%' would contradict itself."""
    text = describe("active_users_ratio_30d", 0.074, (0.03, 0.07), REGISTRY)
    assert text == "Share of seats active: 7%, within the usual 3%–7%"
    assert describe("active_users_ratio_30d", 0.076, (0.03, 0.07), REGISTRY).endswith(
        "8%, above the usual 3%–7%"
    )


def test_days_to_renewal_is_not_compared_with_other_accounts():
    """A renewal date is a place on the calendar, not a level of use: 'near the median of accounts'
    would say nothing. Other features keep their usual range."""
    registry = {name: describe_spec(name) for name in ("days_to_renewal", "tenure_days")}
    spec = FeatureSpec(("days_to_renewal", "tenure_days"), {})
    frame = pd.DataFrame({"days_to_renewal": [53, 10, 200], "tenure_days": [400, 30, 900]})
    ranges = {"days_to_renewal": (15.0, 200.0), "tenure_days": (300.0, 900.0)}
    text = describe_many(frame, spec, np.array([0, 1, 1]), ranges, registry)
    assert text.tolist() == [
        "Days until the next contract renewal: 53 days",
        "Days since the contract started: 30 days, below the usual 300–900 days",
        "Days since the contract started: 900 days, higher than 67% of accounts (usually 300–900 days)",
    ]


def test_reasons_point_the_way_the_registry_says_is_unhealthy():
    """Logins are healthy when high. An account with more logins than most is never told that its logins
    raise the risk, nor one with fewer that they lower it; the next contribution takes the slot, and
    the left-out one stays in the remainder. A feature with no direction is listed either way."""
    deletes = "records_delete_count_90d"
    registry = {name: describe_spec(name) for name in ("logins_count_30d", deletes)}
    spec = FeatureSpec(("logins_count_30d", deletes), {})
    frame = pd.DataFrame({"logins_count_30d": [50.0, 1.0, 10.0, 12.0, 9.0], deletes: [3] * 5})
    contrib = np.array(
        [
            [0.4, 0.1, -2.0],  # many logins 'raising' the risk: not a reason; deletes are
            [-0.3, 0.2, -2.0],  # few logins 'lowering' it: not protective
            [0.4, 0.1, -2.0],  # 10 logins: as many accounts above as below, so either way
            [0.0, 0.0, -2.0],
            [0.0, 0.0, -2.0],
        ]
    )
    out = reason_columns(frame, spec, contrib, {}, n_reasons=2, n_protective=1, registry=registry)
    named = out.fillna("-")
    assert named["reason_1_feature"].tolist()[:3] == [deletes, deletes, "logins_count_30d"]
    assert named["reason_2_feature"].tolist()[:3] == ["-", "-", deletes]
    assert named["protective_1_feature"].tolist()[:2] == ["-", "-"]
    listed = out[[c for c in out.columns if c.endswith("_contribution")]].sum(axis=1)
    assert np.allclose(listed + out["contribution_remainder"], contrib.sum(axis=1))


def test_account_facts_are_context_not_reasons():
    """Days to renewal and the contract type raise these scores most, but they are facts about the
    contract, not behaviour a CS manager can act on: the reasons name the logins, and the largest
    fact raising the score is the account's context. Listed + remainder is still the raw score."""
    names = ("days_to_renewal", "contract_type", "logins_count_30d")
    registry = {name: describe_spec(name) for name in names}
    spec = FeatureSpec(names, {})
    frame = pd.DataFrame(
        {
            "days_to_renewal": [12, 300],
            "contract_type": ["annual", "monthly"],
            "logins_count_30d": [1.0, 40.0],
        }
    )
    contrib = np.array(
        [
            [0.9, 0.5, 0.2, -2.0],  # renewal near: context; few logins: the reason
            [-0.4, 0.6, -0.3, -2.0],  # monthly contract: context; many logins: protective
        ]
    )
    out = reason_columns(
        frame, spec, contrib, {}, n_reasons=2, n_protective=1, registry=registry, n_context=1
    )
    named = out.fillna("-")
    assert named["reason_1_feature"].tolist() == ["logins_count_30d", "-"]
    assert named["reason_2_feature"].tolist() == ["-", "-"]
    assert named["protective_1_feature"].tolist() == ["-", "logins_count_30d"]
    assert named["context_1_feature"].tolist() == ["days_to_renewal", "contract_type"]
    assert out["context_1"].tolist() == [
        "Days until the next contract renewal: 12 days",
        "Contract type (monthly or annual): monthly",
    ]
    listed = out[[c for c in out.columns if c.endswith("_contribution")]].sum(axis=1)
    assert np.allclose(listed + out["contribution_remainder"], contrib.sum(axis=1))
    without = reason_columns(frame, spec, contrib, {}, n_reasons=2, n_protective=1, registry=registry)
    assert not without.columns.str.startswith("context_").any()  # n_context=0: no column


def test_reasons_word_columns_of_non_default_settings():
    """With featurize.windows [14, ...] the columns are logins_count_14d and so on: the default registry
    still words them, and still knows their direction."""
    spec = FeatureSpec(("logins_count_14d", "days_to_first_sso"), {})
    frame = pd.DataFrame({"logins_count_14d": [2.0, 30.0, 9.0], "days_to_first_sso": [np.nan, 5.0, 7.0]})
    contrib = np.array([[0.5, 0.2, -1.0], [0.5, 0.2, -1.0], [0.0, 0.0, -1.0]])
    out = reason_columns(frame, spec, contrib, {}, n_reasons=2, n_protective=0)
    assert out["reason_1"].tolist()[:2] == [
        "Logins in the last 14 days: 2",
        "Days from contract start to the first use of sso (time to value): 5 days",
    ]  # 30 logins, more than most, 'raising the risk' is left out
    assert (
        out["reason_2"].tolist()[0]
        == "Days from contract start to the first use of sso (time to value): not used yet"
    )
