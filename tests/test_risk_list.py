"""The risk list on tiny synthetic frames with a small LightGBM model trained inside the test."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.calibration import Calibrator
from models.encoding import SchemaMismatchError, encode, infer_spec
from models.reasons import as_printed
from models.report import render_report
from models.risk_list import (
    CSV_HEAD,
    ListSettings,
    ScoringModel,
    account_facts,
    build_risk_list,
    next_renewal,
    pick_dates,
    plain_number,
    score_rows,
    snapshot,
    spreadsheet_safe,
)
from models.tiers import TierRule


@dataclass(frozen=True)
class Entry:
    name: str
    family: str
    description: str
    unit: str
    healthy_when: str | None = "high"
    context: bool = False


REGISTRY = {
    "logins_count_30d": Entry("logins_count_30d", "logins", "Logins in the last 30 days", "count"),
    "logins_change_30d": Entry(
        "logins_change_30d",
        "logins",
        "Logins in the last 30 days compared with the 30 days before",
        "percent change",
    ),
    "active_users_ratio_30d": Entry("active_users_ratio_30d", "users", "Share of seats active", "ratio"),
    "days_since_last_login": Entry(
        "days_since_last_login", "logins", "Days since the last login", "days", healthy_when="low"
    ),
    "features_new_90d": Entry("features_new_90d", "adoption", "New features adopted this quarter", "count"),
    "segment": Entry("segment", "account", "Customer segment", "category", None, context=True),
    "tenure_days": Entry(
        "tenure_days", "account", "Days since the contract started", "days", None, context=True
    ),
}
DATES = pd.to_datetime(["2025-10-01", "2025-11-01", "2025-12-01"]).tz_localize("UTC")


def synthetic(n_accounts: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features at three month starts (the last one unlabelled) and the matching accounts table."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"A{i:06d}" for i in range(n_accounts)], dtype=object)
    segment = rng.choice(["enterprise", "mid_market", "smb"], n_accounts, p=[0.2, 0.3, 0.5])
    frames = []
    health = rng.normal(0, 1, n_accounts)
    start_offset = rng.integers(0, 900, n_accounts).astype("float64")
    for i, date in enumerate(DATES):
        health = 0.7 * health + 0.5 * rng.normal(0, 1, n_accounts)
        logins = np.maximum(0, np.round(30 + 12 * health + rng.normal(0, 4, n_accounts)))
        frame = pd.DataFrame(
            {
                "account_id": pd.Series(ids, dtype="str"),
                "observation_date": date,
                "label": pd.Series(pd.NA, index=range(n_accounts), dtype="Int8"),
                "segment": pd.Series(segment, dtype="str"),
                "logins_count_30d": logins,
                "logins_change_30d": np.clip(0.3 * health + rng.normal(0, 0.1, n_accounts), -1, 2),
                "active_users_ratio_30d": 1 / (1 + np.exp(-health - rng.normal(0, 0.3, n_accounts))),
                "days_since_last_login": np.maximum(
                    0, np.round(5 - 3 * health + rng.normal(0, 1, n_accounts))
                ),
                "features_new_90d": rng.poisson(np.exp(0.5 * health)).astype("float64"),
                "tenure_days": (date - pd.Timestamp("2022-01-01", tz="UTC")).days + start_offset,
            }
        )
        if i < len(DATES) - 1:
            p = 1 / (1 + np.exp(2 + 1.5 * health))
            frame["label"] = pd.Series((rng.random(n_accounts) < p).astype("int8"), dtype="Int8")
        frames.append(frame)
    features = pd.concat(frames, ignore_index=True)
    features.loc[5, "logins_count_30d"] = np.nan
    accounts = pd.DataFrame(
        {
            "account_id": pd.Series(ids, dtype="str"),
            "account_name": [
                f'=HYPERLINK("x") Co {i}' if i == 3 else f"Company {i}" for i in range(n_accounts)
            ],
            "segment": pd.Series(segment, dtype="str"),
            "plan": "professional",
            "seats": 10.0,
            "mrr": rng.uniform(100, 5000, n_accounts).round(2),
            "contract_type": rng.choice(["monthly", "annual"], n_accounts),
            "contract_start": pd.Timestamp("2022-01-01"),
            "renewal_date": [dt.date(2026, 1 + i % 12, 1 + i % 28) for i in range(n_accounts)],
            "churn_date": pd.NaT,
            "owner": ["-Ann Lee" if i == 4 else ["Ann Lee", "Bo Chen"][i % 2] for i in range(n_accounts)],
        }
    )
    return features, accounts


def train_tiny(features: pd.DataFrame, rounds: int = 30) -> ScoringModel:
    labelled = features[features["label"].notna()]
    spec = infer_spec(labelled)
    x = encode(labelled, spec)
    params = {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 10, "verbosity": -1, "seed": 1}
    params |= {"deterministic": True, "force_row_wise": True, "num_threads": 1}
    categorical = list(spec.categorical)
    booster = lgb.train(
        params, lgb.Dataset(x, labelled["label"].astype(int), categorical_feature=categorical), rounds
    )
    return ScoringModel(booster, spec, Calibrator("sigmoid", coef=1.0, intercept=0.0))


@pytest.fixture(scope="module")
def setup():
    features, accounts = synthetic()
    return features, accounts, train_tiny(features)


def make_list(setup, rule=None, **kwargs):
    features, accounts, model = setup
    date, previous_date = pick_dates(features, None)
    current = score_rows(model, snapshot(features, date))
    previous = score_rows(model, snapshot(features, previous_date))
    settings = ListSettings(rule or TierRule("threshold", 0.3, 0.12), **kwargs)
    return build_risk_list(
        model, current, accounts, date, settings, previous, previous_date, registry=REGISTRY
    )


def test_listed_contributions_plus_remainder_equal_the_raw_score(setup):
    features, _, model = setup
    risk = make_list(setup).accounts
    listed = risk.filter(regex=r"^(reason|protective|context)_\d+_contribution$").sum(axis=1)
    total = listed + risk["contribution_remainder"]
    rows = snapshot(features, DATES[-1]).set_index("account_id").loc[risk["account_id"]]
    booster_raw = model.booster.predict(encode(rows, model.spec), raw_score=True)
    np.testing.assert_allclose(total.to_numpy(), booster_raw, rtol=0, atol=1e-9)
    np.testing.assert_allclose(risk["raw_score"].to_numpy(), booster_raw, rtol=0, atol=1e-9)


def test_account_facts_are_context_never_reasons(setup):
    risk = make_list(setup).accounts
    named = risk.filter(regex=r"^(reason|protective)_\d+_feature$").stack().unique()
    assert not {"segment", "tenure_days"} & set(named) and len(named)
    assert set(risk["context_1_feature"].dropna()) == {"segment", "tenure_days"}
    segment = risk["context_1_feature"] == "segment"
    assert risk.loc[segment, "context_1"].str.startswith("Customer segment: ").all()


def test_reasons_raise_and_protective_factors_lower_the_score(setup):
    risk = make_list(setup).accounts
    assert (risk.filter(regex=r"^reason_\d+_contribution$").to_numpy() >= 0).all()
    assert (risk.filter(regex=r"^protective_\d+_contribution$").to_numpy() <= 0).all()
    first = risk["reason_1_contribution"].to_numpy()
    assert (first >= risk["reason_2_contribution"].to_numpy()).all()
    texts = risk["reason_1"].dropna()
    assert texts.str.contains("usual|fell|rose|no data|smb|enterprise|mid_market").all()


def test_a_reason_inside_the_usual_range_states_the_share_of_accounts_it_is_compared_with(setup):
    features, _, _ = setup
    risk = make_list(setup).accounts
    rows = snapshot(features, DATES[-1]).set_index("account_id")
    pattern = r"(lower|higher) than (\d+)% of accounts"
    placed = risk["reason_1"].str.extract(pattern).dropna()
    assert len(placed), "no reason inside the usual range: the test data no longer covers this case"
    for i, (side, percent) in placed.iterrows():
        name = risk.loc[i, "reason_1_feature"]
        values = rows[name].astype("float64").dropna()
        # the standing of the value as printed ('37%', not 0.3712): see `describe_many`
        value = as_printed(np.array([rows.loc[risk.loc[i, "account_id"], name]]), REGISTRY[name].unit)[0]
        share = (values > value).mean() if side == "lower" else (values < value).mean()
        assert int(percent) == round(share * 100)


def test_probability_tier_rank_and_arr_at_risk_are_consistent(setup):
    risk = make_list(setup).accounts
    assert risk["churn_probability"].between(0, 1).all()
    assert risk["rank"].tolist() == list(range(1, len(risk) + 1))
    np.testing.assert_allclose(risk["arr_at_risk"], risk["churn_probability"] * risk["arr"])
    assert set(risk["tier"]) <= {"red", "yellow", "green"}
    assert list(risk.columns[: len(CSV_HEAD)]) == list(CSV_HEAD)
    assert (risk["days_to_renewal"] >= 0).all()


def test_change_drivers_add_up_to_the_score_change(setup):
    out = make_list(setup)
    changes = out.changes
    assert len(changes) > 0
    merged = changes.merge(out.accounts[["account_id", "raw_score"]], on="account_id")
    features, _, model = setup
    before = snapshot(features, DATES[-2]).set_index("account_id").loc[merged["account_id"]]
    raw_before = model.booster.predict(encode(before, model.spec), raw_score=True)
    drivers = (
        merged.filter(regex=r"^(context_)?driver_\d+_contribution$").sum(axis=1) + merged["driver_remainder"]
    )
    np.testing.assert_allclose(drivers.to_numpy(), merged["raw_score"].to_numpy() - raw_before, atol=1e-9)
    assert (changes["tier"] != changes["previous_tier"]).all()
    red_first = changes["moved_into_red"].to_numpy()
    assert not (np.diff(red_first.astype(int)) > 0).any(), "accounts moving into red come first"
    into_red = changes.loc[changes["moved_into_red"], "driver_1"]
    assert into_red.dropna().str.contains("→").all()
    # a move with no feature gone the unhealthy way (the tiny model is not monotone) names no driver
    assert into_red.notna().mean() > 0.8
    # the account's tenure grew a month: an account fact, listed apart from the behaviour
    assert "tenure_days" not in set(changes.filter(regex=r"^driver_\d+_feature$").stack())
    assert set(changes["context_driver_1_feature"].dropna()) == {"tenure_days"}


def test_scoring_twice_gives_an_identical_list(setup):
    first, second = make_list(setup), make_list(setup)
    pd.testing.assert_frame_equal(first.accounts, second.accounts)
    pd.testing.assert_frame_equal(first.changes, second.changes)


@pytest.mark.parametrize(
    ("drop", "add", "named"),
    [
        (["logins_count_30d"], {}, "missing columns (1): logins_count_30d"),
        ([], {"seats_count": 1.0}, "extra columns (1): seats_count"),
        (["segment"], {"plan": "pro"}, "missing columns (1): segment"),
    ],
)
def test_a_feature_table_that_differs_from_the_model_stops_and_names_columns(setup, drop, add, named):
    features, _, model = setup
    frame = snapshot(features, DATES[-1]).drop(columns=drop).assign(**add)
    with pytest.raises(SchemaMismatchError, match=named.replace("(", r"\(").replace(")", r"\)")):
        score_rows(model, frame)


def test_csv_numbers_are_plain_decimals():
    """No scientific notation: an ARR of millions and a tiny probability change read as written."""
    frame = pd.DataFrame({"arr": [1_254_900.0, 2805.0], "probability_change": [8.13467e-05, -1e-9]})
    text = frame.to_csv(index=False, float_format=plain_number)
    assert text.splitlines() == ["arr,probability_change", "1254900,0.000081", "2805,0"]
    assert plain_number(0.5233421) == "0.523342" and plain_number(-0.25) == "-0.25"


def test_csv_text_cells_are_escaped_and_numbers_stay_numbers():
    frame = pd.DataFrame(
        {
            "account_name": pd.Series(
                ["=cmd|' /C calc'!A0", "+1", "@SUM(A1)", "-2", "Acme", None], dtype="str"
            ),
            "probability_change": [-0.5, 0.1, 0.0, -0.2, 0.3, np.nan],
        }
    )
    safe = spreadsheet_safe(frame)
    assert safe["account_name"].tolist()[:5] == ["'=cmd|' /C calc'!A0", "'+1", "'@SUM(A1)", "'-2", "Acme"]
    assert pd.isna(safe["account_name"].iloc[5])
    assert safe["probability_change"].tolist()[:5] == [-0.5, 0.1, 0.0, -0.2, 0.3]


def test_a_model_directory_round_trips(setup, tmp_path: Path):
    _, _, model = setup
    model.booster.save_model(tmp_path / "lgbm.txt")
    model.spec.save(tmp_path / "feature_spec.json")
    model.calibrator.save(tmp_path / "calibrator.json")
    loaded = ScoringModel.from_dir(tmp_path)
    features = setup[0]
    rows = snapshot(features, DATES[-1])
    np.testing.assert_array_equal(score_rows(loaded, rows).contrib, score_rows(model, rows).contrib)


@pytest.mark.parametrize(
    ("renewal", "contract", "date", "expected"),
    [
        ("2026-03-15", "annual", "2025-12-01", "2026-03-15"),  # upcoming: unchanged
        ("2025-12-01", "annual", "2025-12-01", "2025-12-01"),  # on the day: counts as upcoming
        ("2025-06-10", "annual", "2025-12-01", "2026-06-10"),  # past: rolled one year
        ("2027-06-10", "annual", "2025-12-01", "2026-06-10"),  # far future (historical scoring): rolled back
        ("2025-09-20", "monthly", "2025-12-01", "2025-12-20"),
        ("2025-01-31", "monthly", "2025-02-01", "2025-02-28"),  # no 31 February: the month's last day
        ("2025-01-31", "monthly", "2025-04-01", "2025-04-30"),
        ("2025-01-31", "monthly", "2025-03-01", "2025-03-31"),  # and the 31st again where there is one
        ("2024-02-29", "annual", "2025-01-01", "2025-02-28"),
        ("2024-02-29", "annual", "2027-03-01", "2028-02-29"),
        ("2026-05-05", "monthly", "2025-12-01", "2025-12-05"),
    ],
)
def test_next_renewal_is_the_first_on_or_after_the_date(renewal, contract, date, expected):
    got = next_renewal(
        pd.Series([dt.date.fromisoformat(renewal)]), pd.Series([contract]), pd.Timestamp(date, tz="UTC")
    )
    assert got.iloc[0] == pd.Timestamp(expected)


def test_without_a_renewal_date_the_contract_starts_anniversary_is_the_renewal():
    accounts = pd.DataFrame(
        {
            "account_id": ["a", "b"],
            "account_name": ["A", "B"],
            "segment": ["smb", "smb"],
            "mrr": [10.0, 20.0],
            "contract_type": ["monthly", "annual"],
            "contract_start": [dt.date(2025, 1, 31), dt.date(2024, 3, 10)],
            "renewal_date": [None, dt.date(2026, 3, 10)],
        }
    )
    facts = account_facts(accounts, pd.Series(["a", "b"]), pd.Timestamp("2025-12-01", tz="UTC"))
    assert facts["renewal_date"].tolist() == [dt.date(2025, 12, 31), dt.date(2026, 3, 10)]
    assert facts["days_to_renewal"].tolist() == [30, 99]


def test_previous_risk_list_is_what_change_is_shown_against(setup):
    base = make_list(setup).accounts
    features, accounts, model = setup
    previous_list = base[["account_id", "churn_probability", "tier"]].assign(
        churn_probability=0.5, tier="yellow"
    )
    date, _ = pick_dates(features, None)
    current = score_rows(model, snapshot(features, date))
    out = build_risk_list(
        model,
        current,
        accounts,
        date,
        ListSettings(TierRule("threshold", 0.3, 0.12)),
        previous_list=previous_list,
        registry=REGISTRY,
    )
    np.testing.assert_allclose(out.accounts["probability_change"], out.accounts["churn_probability"] - 0.5)
    assert (out.accounts["previous_tier"] == "yellow").all()
    assert "driver_1" not in out.changes.columns


def test_without_protective_factors_the_report_does_not_mention_them(setup):
    def note(risk) -> str:
        return render_report(risk, max_rows=50, model_name="tiny").split('<p class="note">Model:')[1]

    assert "protective" not in note(make_list(setup, n_protective=0)).split("</p>")[0]
    assert "protective factor lowered" in note(make_list(setup))


def test_without_context_neither_the_lists_nor_the_report_mention_it(setup):
    """``score.n_context: 0``: no context columns, the context drivers' share in the remainder, and no
    heading or note of the report speaks of an account context."""
    risk = make_list(setup, n_context=0)
    assert not [c for c in (*risk.accounts.columns, *risk.changes.columns) if "context" in c]
    page = render_report(risk, max_rows=50, model_name="tiny")
    assert "account context" not in page
    with_context = render_report(make_list(setup), max_rows=50, model_name="tiny")
    assert with_context.count("account context") >= 3  # both headings and the note
