"""Fit the LightGBM model and both baselines on one time split, calibrate all three on validation."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import lightgbm as lgb
import pandas as pd

from models.baselines import fit_health_score, fit_logreg, health_score, logreg_log_odds
from models.calibration import Calibrator, fit_calibrator
from models.encoding import FeatureSpec, encode, infer_spec
from models.lgbm import fit_lgbm, monotone_constraints, raw_score
from models.split import TimeSplit, assign_periods, check_both_classes, make_split
from models.tuning import tune

log = logging.getLogger(__name__)

MODELS = ("lightgbm", "logreg", "health_score")


@dataclass
class Trained:
    split: TimeSplit
    lgbm_params: dict
    spec: FeatureSpec
    booster: lgb.Booster
    curves: dict
    logreg: dict
    health: dict
    calibrators: dict[str, Calibrator]
    predictions: pd.DataFrame  # validation and test rows: keys, segment, period, label, p_<model>


def fit_all(
    features: pd.DataFrame,
    label_days: int,
    valid_months: int,
    test_months: int,
    calibration: str,
    lgbm_params: dict,
    logreg_c: float,
    health_weights: dict[str, float],
    monotone: bool = False,
    tuning: dict | None = None,
) -> Trained:
    """Train on the earliest months, early-stop and calibrate on validation, predict validation + test.

    With `monotone`, LightGBM is held to each feature's healthy direction (see `monotone_constraints`).
    """
    labelled = features[features["label"].notna()].reset_index(drop=True)
    split = make_split(labelled["observation_date"], valid_months, test_months)
    period = assign_periods(labelled, split, label_days)
    log.info("split %s; rows per period %s", split.describe(), period.value_counts().to_dict())
    spec = infer_spec(labelled)
    x, y = encode(labelled, spec), labelled["label"].astype("int64").to_numpy()
    check_both_classes(period, y, split)
    train, valid, held_out = (
        (period == "train").to_numpy(),
        (period == "valid").to_numpy(),
        period.isin(["valid", "test"]).to_numpy(),
    )
    empty = [c for c in spec.features if labelled.loc[train, c].isna().all()]
    if empty:
        log.warning(
            "%d feature(s) have no value in the training period, so no model can use them: %s (a core "
            "feature in featurize.core_features that your logs never name leaves its days_to_first_* empty)",
            len(empty),
            ", ".join(empty),
        )

    if monotone:
        lgbm_params = {**lgbm_params, "monotone_constraints": monotone_constraints(spec.features)}
    if tuning and tuning["enabled"]:
        lgbm_params = tune(
            x[train], y[train], labelled.loc[train, "observation_date"], spec, lgbm_params,
            tuning["n_trials"], tuning["n_folds"], label_days,
        )  # fmt: skip
    booster, curves = fit_lgbm(x[train], y[train], x[valid], y[valid], spec, lgbm_params)
    logreg = fit_logreg(x[train], y[train], spec, logreg_c)
    health = fit_health_score(labelled[train], health_weights)
    raw = {
        "lightgbm": raw_score(booster, x),
        "logreg": logreg_log_odds(x, spec, logreg),
        "health_score": 100.0 - health_score(labelled, health),  # risk rises as health falls
    }
    calibrators = {name: fit_calibrator(score[valid], y[valid], calibration) for name, score in raw.items()}
    predictions = labelled.loc[held_out, ["account_id", "observation_date", "segment", "label"]].assign(
        period=period[held_out].to_numpy(),
        **{f"p_{name}": calibrators[name].predict(raw[name][held_out]) for name in MODELS},
    )
    return Trained(
        split,
        lgbm_params,
        spec,
        booster,
        curves,
        logreg,
        health,
        calibrators,
        predictions.reset_index(drop=True),
    )
