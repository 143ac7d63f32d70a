"""Honest baselines, trained and evaluated exactly like the LightGBM model.

- A rule-based health score of the kind CS platforms configure: chosen usage, adoption and utilisation
  measures, each turned into a 0-1 percentile against the training period, weighted into 0-100.
- A logistic regression on scaled numeric features and one-hot categoricals.
Both are stored as JSON (no pickles).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from models.encoding import FeatureSpec

_QUANTILES = np.linspace(0.0, 1.0, 101)


def fit_health_score(train: pd.DataFrame, weights: dict[str, float]) -> dict:
    """Percentile tables per measure; a positive weight means 'more is healthier'."""
    missing = sorted(set(weights) - set(train.columns))
    if missing:
        raise KeyError(f"train.health_score names columns the feature table lacks: {', '.join(missing)}")
    return {
        "weights": dict(sorted(weights.items())),
        "quantiles": {
            c: np.nanquantile(train[c].astype("float64"), _QUANTILES).tolist() for c in sorted(weights)
        },
    }


def health_score(frame: pd.DataFrame, model: dict) -> np.ndarray:
    """0-100, higher is healthier; a missing measure counts as the median."""
    total = np.zeros(len(frame))
    for column, weight in model["weights"].items():
        rank = np.interp(frame[column].astype("float64"), model["quantiles"][column], _QUANTILES)
        rank = np.where(np.isnan(rank), 0.5, rank)
        total += abs(weight) * (rank if weight > 0 else 1.0 - rank)
    return 100.0 * total / sum(abs(w) for w in model["weights"].values())


def fit_logreg(x: pd.DataFrame, y: np.ndarray, spec: FeatureSpec, c: float) -> dict:
    """Median-impute, standardise numerics, one-hot categoricals; L2 logistic regression."""
    design, scaling = _design(x, spec, scaling=None)
    model = LogisticRegression(C=c, max_iter=2000).fit(design.to_numpy(), y)
    return {
        "scaling": scaling,
        "columns": list(design.columns),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
    }


def logreg_log_odds(x: pd.DataFrame, spec: FeatureSpec, model: dict) -> np.ndarray:
    design, _ = _design(x, spec, scaling=model["scaling"])
    return design[model["columns"]].to_numpy() @ np.asarray(model["coef"]) + model["intercept"]


def _scale(values: pd.Series) -> float:
    """The standard deviation, or 1 when it is 0 or undefined (a constant or empty column)."""
    std = float(values.std())
    return std if np.isfinite(std) and std > 0 else 1.0


def _design(x: pd.DataFrame, spec: FeatureSpec, scaling: dict | None) -> tuple[pd.DataFrame, dict]:
    numeric = [c for c in spec.features if c not in spec.categorical]
    if scaling is None:
        values = x[numeric]
        # an empty column (say a core feature nobody uses) gets centre 0 and scale 1: all zeros, no NaN
        scaling = {c: [float(np.nan_to_num(values[c].median())), _scale(values[c])] for c in numeric}
    columns = {c: (x[c].fillna(scaling[c][0]) - scaling[c][0]) / scaling[c][1] for c in numeric}
    for column, levels in spec.categorical.items():
        for code, level in enumerate(levels):
            columns[f"{column}={level}"] = (x[column] == code).astype("float64")
    design = pd.DataFrame(columns, index=x.index)
    # Heavy-tailed counts: clip standardised values so a few huge accounts don't dominate the fit.
    return design.clip(-5, 5), scaling
