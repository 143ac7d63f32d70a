"""Static PNG figures (matplotlib, no network) for MLflow and for reading offline."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

_AXES = {
    "roc": ("fpr", "tpr", "False positive rate", "True positive rate"),
    "pr": ("recall", "precision", "Recall", "Precision"),
    "calibration": ("mean_predicted", "observed_rate", "Mean predicted probability", "Observed churn rate"),
    "gains": (
        "share_contacted",
        "share_of_churners",
        "Share of accounts contacted",
        "Share of churners found",
    ),
}


def plot_curves(kind: str, curves: dict[str, pd.DataFrame], path: Path) -> None:
    """One figure per curve kind with a line per model; diagonal reference where it means chance."""
    x, y, xlabel, ylabel = _AXES[kind]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for name, frame in curves.items():
        ax.plot(frame[x], frame[y], marker="o" if kind == "calibration" else None, ms=3, label=name)
    if kind in ("roc", "calibration", "gains"):
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=kind.upper() if kind != "calibration" else "Reliability")
    ax.legend(loc="best", fontsize=8)
    _save(fig, path)


def plot_importance(names: list[str], values: np.ndarray, title: str, path: Path, top: int = 20) -> None:
    order = np.argsort(values)[-top:]
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(order) + 1.2))
    ax.barh([names[i] for i in order], values[order], color="#4c72b0")
    ax.set(title=title)
    ax.tick_params(axis="y", labelsize=7)
    _save(fig, path)


def plot_shap_summary(
    names: list[str], contrib: np.ndarray, x: pd.DataFrame, path: Path, top: int = 15
) -> None:
    """Beeswarm-style summary: each dot an account, colour the feature's value rank (red = high)."""
    order = np.argsort(np.abs(contrib).mean(axis=0))[-top:]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(order) + 1.5))
    rng = np.random.default_rng(0)
    for row, j in enumerate(order):
        values = x.iloc[:, j].rank(pct=True).fillna(0.5).to_numpy()
        jitter = rng.uniform(-0.3, 0.3, len(values))
        ax.scatter(contrib[:, j], row + jitter, c=values, cmap="coolwarm", s=3, alpha=0.6, rasterized=True)
    ax.set_yticks(range(len(order)), [names[j] for j in order], fontsize=7)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set(xlabel="Contribution to churn log-odds (TreeSHAP)", title="What drives the churn score")
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    # No software/date metadata: the same data must give the same bytes.
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
