"""Rolling-origin backtest: retrain as of each of the last test months, score that month, repeat.

Each origin uses only snapshots whose labels were known before the origin's test month (the same
purged split as the main model), so every month's metrics are truly out of time.
"""

from __future__ import annotations

import pandas as pd

from models.metrics import score_metrics
from models.train import MODELS, fit_all


def rolling_origin(
    features: pd.DataFrame, origins: int, fit_kwargs: dict, capacity_share: float, bins: int, emp: dict
) -> pd.DataFrame:
    """One row per (test month, model, segment incl. 'all') with the standard metric set."""
    labelled_months = sorted(features.loc[features["label"].notna(), "observation_date"].unique())
    rows = []
    for month in labelled_months[-origins:]:
        # Unknown labels as of this origin stay unknown: drop later snapshots entirely.
        history = features[features["observation_date"] <= month]
        trained = fit_all(history, test_months=1, **fit_kwargs)
        test = trained.predictions[trained.predictions["period"] == "test"]
        for name in MODELS:
            for segment, part in [("all", test), *test.groupby("segment")]:
                metrics = score_metrics(
                    part["label"].to_numpy(), part[f"p_{name}"].to_numpy(), capacity_share, bins, emp
                )
                rows.append(
                    {
                        "test_month": pd.Timestamp(month).date().isoformat(),
                        "model": name,
                        "segment": segment,
                        **metrics,
                    }
                )
    return pd.DataFrame(rows)
