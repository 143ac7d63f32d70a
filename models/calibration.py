"""Calibrators fitted on the validation period, saved as JSON (no pickles).

Isotonic regression is stored as its step function; Platt scaling as two coefficients.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class Calibrator:
    method: str
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    coef: float = 1.0
    intercept: float = 0.0

    def predict(self, raw_score: np.ndarray) -> np.ndarray:
        """Map raw model scores (log-odds for LightGBM) to probabilities."""
        raw_score = np.asarray(raw_score, dtype="float64")
        if self.method == "isotonic":
            return np.interp(raw_score, self.x, self.y)
        return 1.0 / (1.0 + np.exp(-(self.coef * raw_score + self.intercept)))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibrator:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(raw["method"], tuple(raw["x"]), tuple(raw["y"]), raw["coef"], raw["intercept"])


def fit_calibrator(raw_score: np.ndarray, label: np.ndarray, method: str) -> Calibrator:
    """Fit on held-out scores; isotonic keeps the ranking, Platt is smoother on small samples."""
    raw_score = np.asarray(raw_score, dtype="float64")
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw_score, label)
        return Calibrator(
            "isotonic", tuple(map(float, iso.X_thresholds_)), tuple(map(float, iso.y_thresholds_))
        )
    platt = LogisticRegression(C=1e6).fit(raw_score.reshape(-1, 1), label)
    return Calibrator("sigmoid", coef=float(platt.coef_[0, 0]), intercept=float(platt.intercept_[0]))
