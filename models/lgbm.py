"""LightGBM through its native API, deterministic and early-stopped on the validation period."""

from __future__ import annotations

from collections.abc import Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.registry import AnyFeatures
from models.encoding import FeatureSpec


def lgbm_params(model_params: dict, pos_weight: float) -> dict:
    """Native parameters: the configured ones plus the settings that make training reproducible."""
    params = {k: v for k, v in model_params.items() if k not in ("num_boost_round", "early_stopping_rounds")}
    if not any(params.get("monotone_constraints", ())):
        # LightGBM 4.7 crashes (segfault) on an "intermediate" or "advanced" method with no constraint
        # and a categorical feature (LightGBM issue #6841); without constraints the method means nothing.
        params.pop("monotone_constraints_method", None)
    return {
        **params,
        "objective": "binary",
        "metric": ["auc", "binary_logloss"],
        "scale_pos_weight": pos_weight,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


RISK_DIRECTION = {"high": -1, "low": 1}  # healthy when high: risk may only fall as the feature rises


def monotone_constraints(features: Sequence[str]) -> list[int]:
    """LightGBM's ``monotone_constraints`` for `features`, from the registry's `healthy_when`: -1 (risk
    never rises with the feature), 1 (never falls) or 0 (free: categories, ARR, days to renewal, ...).

    Held to these, the model cannot learn that fewer logins lower the risk, so its TreeSHAP reasons read
    the way a customer-success manager expects. On the sample it was no less accurate: backtest ROC AUC
    0.869 with and 0.866 without (four origins), PR AUC 0.305 against 0.287.
    """
    registry = AnyFeatures()  # a column the registry does not know gets no constraint
    return [RISK_DIRECTION.get(getattr(registry.get(name), "healthy_when", None), 0) for name in features]


def balance_weight(label: np.ndarray) -> float:
    """Up-weight churners by sqrt(negatives / positives): helps the trees find rare churn
    without distorting scores as much as full balancing; calibration fixes the scale afterwards."""
    positives = max(int(label.sum()), 1)
    return float(np.sqrt((len(label) - positives) / positives))


def fit_lgbm(
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_valid: pd.DataFrame,
    y_valid: np.ndarray,
    spec: FeatureSpec,
    model_params: dict,
) -> tuple[lgb.Booster, dict]:
    """Train with early stopping on validation; returns the booster and the recorded eval curves."""
    categorical = [c for c in spec.features if c in spec.categorical]
    train_set = lgb.Dataset(x_train, y_train, categorical_feature=categorical, free_raw_data=False)
    valid_set = lgb.Dataset(x_valid, y_valid, reference=train_set, categorical_feature=categorical)
    curves: dict = {}
    booster = lgb.train(
        lgbm_params(model_params, balance_weight(y_train)),
        train_set,
        num_boost_round=model_params["num_boost_round"],
        valid_sets=[train_set, valid_set],
        valid_names=["train", "valid"],
        callbacks=[
            lgb.early_stopping(model_params["early_stopping_rounds"], first_metric_only=True, verbose=False),
            lgb.record_evaluation(curves),
        ],
    )
    return booster, curves


def raw_score(booster: lgb.Booster, x: pd.DataFrame) -> np.ndarray:
    """Log-odds from the best iteration (what the calibrator and the reasons work on)."""
    return booster.predict(x, raw_score=True, num_iteration=booster.best_iteration)
