"""Training on a synthetic feature table: time split without leakage, determinism, planted signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.encoding import SchemaMismatchError, encode, infer_spec
from models.split import SplitError, assign_periods, make_split
from models.train import fit_all

LGBM = {
    "learning_rate": 0.1, "num_leaves": 7, "min_data_in_leaf": 20, "feature_fraction": 0.9,
    "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "num_boost_round": 200,
    "early_stopping_rounds": 20, "seed": 3, "num_threads": 2,
}  # fmt: skip
HEALTH = {"logins_30d": 1.0, "noise": 1.0}


def synthetic_features(n_accounts: int = 300, months: int = 18, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=months, freq="MS", tz="UTC")
    frame = pd.DataFrame(
        {
            "account_id": np.tile([f"A{i:04d}" for i in range(n_accounts)], months),
            "observation_date": np.repeat(dates, n_accounts),
        }
    )
    frame["segment"] = pd.Series(rng.choice(["smb", "mid_market", "enterprise"], len(frame)), dtype="str")
    frame["logins_30d"] = rng.gamma(2.0, 10.0, len(frame))
    frame["noise"] = rng.normal(size=len(frame))
    risk = 1 / (1 + np.exp(0.15 * frame["logins_30d"] - 1.0))
    frame["label"] = pd.array((rng.random(len(frame)) < risk).astype(int), dtype="Int8")
    frame.loc[frame["observation_date"] > dates[max(months - 4, 0)], "label"] = (
        pd.NA
    )  # the horizon has not passed yet
    return frame


def _fit(features: pd.DataFrame):
    return fit_all(
        features, label_days=90, valid_months=3, test_months=3, calibration="isotonic",
        lgbm_params=LGBM, logreg_c=1.0, health_weights=HEALTH,
    )  # fmt: skip


def test_split_purges_labels_that_reach_into_later_periods():
    features = synthetic_features()
    labelled = features[features["label"].notna()]
    split = make_split(labelled["observation_date"], valid_months=3, test_months=3)
    period = assign_periods(labelled, split, label_days=90)
    end_of_label = labelled["observation_date"] + pd.Timedelta(days=90)
    assert (end_of_label[period == "train"] <= split.valid_start).all()
    assert (end_of_label[period == "valid"] <= split.test_start).all()
    assert labelled.loc[period == "test", "observation_date"].min() == split.test_start
    assert (period == "purged").any()


def test_a_period_without_churn_stops_with_a_plain_message():
    features = synthetic_features()
    labelled = features["label"].notna()
    last_three = sorted(features.loc[labelled, "observation_date"].unique())[-3]
    features.loc[labelled & (features["observation_date"] >= last_three), "label"] = 0
    with pytest.raises(SplitError, match=r"test: \d+ rows, 0 churned"):
        _fit(features)


def test_a_feature_with_no_value_at_all_is_no_obstacle(caplog):
    """A core feature nobody uses leaves days_to_first_<it> empty: every model still trains."""
    features = synthetic_features().assign(days_to_first_unused=np.nan)
    trained = _fit(features)
    held_out = trained.predictions[[f"p_{name}" for name in ("lightgbm", "logreg", "health_score")]]
    assert held_out.notna().all().all()
    assert "days_to_first_unused" in caplog.text


def test_planted_signal_is_found_and_beats_noise():
    trained = _fit(synthetic_features())
    test = trained.predictions[trained.predictions["period"] == "test"]
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(test["label"].astype(int), test["p_lightgbm"]) > 0.75
    gain = dict(zip(trained.spec.features, trained.booster.feature_importance("gain"), strict=True))
    assert gain["logins_30d"] > 5 * gain["noise"]


def test_same_data_and_params_give_a_byte_identical_model(tmp_path):
    features = synthetic_features()
    for name in ("a", "b"):
        _fit(features).booster.save_model(tmp_path / f"{name}.txt")
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()


def test_encoding_rejects_a_table_with_other_columns():
    features = synthetic_features(n_accounts=10, months=2)
    spec = infer_spec(features)
    with pytest.raises(SchemaMismatchError, match=r"missing columns \(1\): noise") as err:
        encode(features.drop(columns="noise").assign(extra=1), spec)
    assert "extra columns (1): extra" in str(err.value)


def test_unknown_category_level_becomes_missing():
    features = synthetic_features(n_accounts=10, months=2)
    spec = infer_spec(features)
    encoded = encode(features.assign(segment="startup"), spec)
    assert encoded["segment"].isna().all()


@pytest.mark.parametrize("monotone", [True, False])
def test_monotone_training_holds_risk_to_the_registrys_direction(monotone):
    """Churn planted at both ends of active_users_ratio_30d (healthy when high in the registry): held to
    the registry, risk never rises with the ratio; left free, the model learns the rise at the top.
    (Free, with the "advanced" method configured and a categorical feature, LightGBM 4.7 would crash.)"""
    rng = np.random.default_rng(5)
    features = synthetic_features(seed=5).rename(columns={"logins_30d": "active_users_ratio_30d"})
    ratio = rng.random(len(features))
    features["active_users_ratio_30d"] = ratio
    risk = np.where(ratio < 0.2, 0.5, np.where(ratio > 0.8, 0.6, 0.05))
    known = features["label"].notna()
    features.loc[known, "label"] = (rng.random(int(known.sum())) < risk[known.to_numpy()]).astype(int)
    trained = fit_all(
        features, label_days=90, valid_months=3, test_months=3, calibration="isotonic",
        lgbm_params={**LGBM, "monotone_constraints_method": "advanced"}, logreg_c=1.0,
        health_weights={"noise": 1.0}, monotone=monotone,
    )  # fmt: skip

    grid = features.head(50).loc[np.repeat(np.arange(50), 21)].reset_index(drop=True)
    grid["active_users_ratio_30d"] = np.tile(np.linspace(0, 1, 21), 50)
    raw = trained.booster.predict(encode(grid, trained.spec), raw_score=True).reshape(50, 21)
    never_rises = bool((np.diff(raw, axis=1) <= 1e-12).all())
    assert never_rises == monotone
    constraints = trained.lgbm_params.get("monotone_constraints")
    assert constraints == ([0, -1, 0] if monotone else None)  # segment, active_users_ratio_30d, noise
    assert trained.spec.features == ("segment", "active_users_ratio_30d", "noise")
