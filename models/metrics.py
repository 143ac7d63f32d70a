"""Out-of-time metrics for churn scores: ranking, top-of-list value, calibration and profit.

Every function takes ``y`` (1 = churned) and ``p`` (a probability) and returns plain floats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score, roc_curve


def top_share_mask(p: np.ndarray, share: float) -> np.ndarray:
    """The highest-scored ``share`` of rows; ties broken by position so the count is exact."""
    k = max(round(len(p) * share), 1)
    order = np.argsort(-p, kind="stable")
    mask = np.zeros(len(p), dtype=bool)
    mask[order[:k]] = True
    return mask


def lift_at(y: np.ndarray, p: np.ndarray, share: float) -> float:
    """Churn rate in the top ``share`` divided by the overall churn rate (top-decile lift at 0.1)."""
    return float(y[top_share_mask(p, share)].mean() / y.mean())


def recall_at(y: np.ndarray, p: np.ndarray, share: float) -> float:
    """Share of all churners found when the CS team calls the top ``share`` of accounts."""
    return float(y[top_share_mask(p, share)].sum() / y.sum())


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int) -> float:
    """Weighted mean |observed rate - mean probability| over equal-width probability bins."""
    table = calibration_table(y, p, bins)
    return float((table["count"] * (table["observed"] - table["predicted"]).abs()).sum() / len(y))


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int) -> pd.DataFrame:
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": idx, "y": y, "p": p})
    table = frame.groupby("bin").agg(count=("y", "size"), observed=("y", "mean"), predicted=("p", "mean"))
    return table.reset_index()


def expected_maximum_profit(
    y: np.ndarray, p: np.ndarray, clv: float, d: float, f: float, alpha: float, beta: float
) -> tuple[float, float]:
    """EMP for customer churn (Verbraken, Wouters, Verbeke, Baesens 2013).

    A contacted churner accepts the retention offer with probability gamma ~ Beta(alpha, beta); the
    offer costs ``d``, contacting costs ``f``, a retained customer is worth ``clv``. For each gamma the
    best cut-off on the ROC curve is taken; EMP integrates that profit over gamma. Returns
    (EMP per customer, share of customers targeted at the expected optimum).
    """
    pi1 = y.mean()  # churners
    pi0 = 1.0 - pi1
    fpr, tpr, _ = roc_curve(y, p)
    delta, phi = d / clv, f / clv
    gammas = np.linspace(0.0005, 0.9995, 1000)
    weights = stats.beta.pdf(gammas, alpha, beta)
    weights /= weights.sum()
    profit = clv * (
        (gammas[:, None] * (1 - delta) - phi) * pi1 * tpr[None, :] - (delta + phi) * pi0 * fpr[None, :]
    )
    best = profit.argmax(axis=1)
    emp = float((profit[np.arange(len(gammas)), best] * weights).sum())
    targeted = float(((pi1 * tpr[best] + pi0 * fpr[best]) * weights).sum())
    return emp, targeted


def score_metrics(
    y: np.ndarray, p: np.ndarray, capacity_share: float, bins: int, emp: dict
) -> dict[str, float]:
    """The metric set every model and the oracle get, overall and per segment."""
    y = np.asarray(y, dtype="int64")
    p = np.clip(np.asarray(p, dtype="float64"), 1e-6, 1 - 1e-6)
    if y.min() == y.max():
        return {"n": float(len(y)), "churn_rate": float(y.mean())}
    emp_value, emp_share = expected_maximum_profit(y, p, **emp)
    return {
        "n": float(len(y)),
        "churn_rate": float(y.mean()),
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "lift_top_decile": lift_at(y, p, 0.1),
        "recall_at_capacity": recall_at(y, p, capacity_share),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "ece": expected_calibration_error(y, p, bins),
        "emp": emp_value,
        "emp_targeted_share": emp_share,
    }
