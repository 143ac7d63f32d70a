"""Optional hyperparameter search: Optuna (seeded TPE) with time-ordered cross-validation.

Folds grow forward in time inside the training period: fold k trains on the months before a cut and is
scored on the next months, with the same label-window purge as the main split. Only training-period
rows are used, so the validation and test periods stay untouched.
"""

from __future__ import annotations

import logging

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import roc_auc_score

from models.encoding import FeatureSpec
from models.lgbm import fit_lgbm, raw_score

log = logging.getLogger(__name__)


def time_folds(dates: pd.Series, n_folds: int, label_days: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train mask, score mask) pairs; each scored block is one or more whole months after the train part."""
    months = sorted(dates.unique())
    block = max(len(months) // (n_folds + 1), 1)
    folds = []
    for k in range(1, n_folds + 1):
        cut = months[k * block] if k * block < len(months) else None
        if cut is None:
            break
        end = months[(k + 1) * block] if (k + 1) * block < len(months) else months[-1] + pd.Timedelta(days=1)
        train = ((dates + pd.Timedelta(days=label_days)) <= cut).to_numpy()
        score = ((dates >= cut) & (dates < end)).to_numpy()
        if train.any() and score.any():
            folds.append((train, score))
    return folds


def tune(
    x: pd.DataFrame,
    y: np.ndarray,
    dates: pd.Series,
    spec: FeatureSpec,
    base_params: dict,
    n_trials: int,
    n_folds: int,
    label_days: int,
) -> dict:
    """Return ``base_params`` updated with the best trial's values (mean fold ROC AUC)."""
    folds = time_folds(dates.reset_index(drop=True), n_folds, label_days)

    def objective(trial: optuna.Trial) -> float:
        params = {
            **base_params,
            "num_leaves": trial.suggest_int("num_leaves", 4, 63, log=True),
            "max_depth": trial.suggest_int("max_depth", 3, 8),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
            "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 10, 200, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
        }
        scores = []
        for train, score in folds:
            if y[score].min() == y[score].max():
                continue
            booster, _ = fit_lgbm(x[train], y[train], x[score], y[score], spec, params)
            scores.append(roc_auc_score(y[score], raw_score(booster, x[score])))
        return float(np.mean(scores)) if scores else 0.5

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=base_params["seed"])
    )
    study.optimize(objective, n_trials=n_trials, n_jobs=1)
    log.info("tuning: best mean fold ROC AUC %.4f with %s", study.best_value, study.best_params)
    return {**base_params, **study.best_params}
