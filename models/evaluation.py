"""Out-of-time evaluation: the same metrics for every model and for the oracle, overall and per segment."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from models.metrics import calibration_table, score_metrics

RATIO_KEYS = ("roc_auc", "pr_auc", "lift_top_decile", "recall_at_capacity", "emp")


def evaluate_models(
    test: pd.DataFrame, models: list[str], capacity_share: float, bins: int, emp: dict
) -> dict[str, dict]:
    """Metrics per model column ``p_<model>``; ``test`` holds label, segment and those columns."""
    report: dict[str, dict] = {}
    y = test["label"].astype("int64").to_numpy()
    for name in models:
        p = test[f"p_{name}"].to_numpy()
        metrics = score_metrics(y, p, capacity_share, bins, emp)
        metrics["segment"] = {
            segment: score_metrics(y[mask], p[mask], capacity_share, bins, emp)
            for segment, mask in _segments(test)
        }
        report[name] = metrics
    if "oracle" in models:
        report["ratio_to_oracle"] = {
            name: {k: report[name][k] / report["oracle"][k] for k in RATIO_KEYS if report["oracle"].get(k)}
            for name in models
            if name != "oracle"
        }
    return report


def _segments(test: pd.DataFrame):
    for segment in sorted(test["segment"].dropna().unique()):
        yield segment, (test["segment"] == segment).to_numpy()


def curve_points(test: pd.DataFrame, name: str, bins: int, max_points: int = 200) -> dict[str, pd.DataFrame]:
    """ROC, precision-recall, calibration and cumulative gains as small frames for `dvc plots`."""
    y, p = test["label"].astype("int64").to_numpy(), test[f"p_{name}"].to_numpy()
    fpr, tpr, _ = roc_curve(y, p)
    precision, recall, _ = precision_recall_curve(y, p)
    order = np.argsort(-p, kind="stable")
    gains = pd.DataFrame(
        {
            "share_contacted": np.arange(1, len(y) + 1) / len(y),
            "share_of_churners": np.cumsum(y[order]) / max(y.sum(), 1),
        }
    )
    return {
        "roc": _thin(pd.DataFrame({"fpr": fpr, "tpr": tpr}), max_points),
        "pr": _thin(pd.DataFrame({"recall": recall[::-1], "precision": precision[::-1]}), max_points),
        "calibration": calibration_table(y, p, bins).rename(
            columns={"predicted": "mean_predicted", "observed": "observed_rate"}
        ),
        "gains": _thin(gains, max_points),
    }


def _thin(frame: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """Keep at most ``max_points`` evenly spaced rows, always the first and last."""
    if len(frame) <= max_points:
        return frame.round(6).reset_index(drop=True)
    idx = np.unique(np.linspace(0, len(frame) - 1, max_points).round().astype(int))
    return frame.iloc[idx].round(6).reset_index(drop=True)
