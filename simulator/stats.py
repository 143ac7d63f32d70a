"""Statistics of a simulated sample for the data card and the realism tests (reads the written files)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq


def read_accounts(sample_dir: Path) -> pd.DataFrame:
    return pq.read_table(Path(sample_dir) / "accounts.parquet").to_pandas()


def labelled_truth(
    sample_dir: Path, truth_dir: Path, lead_days: int, horizon_days: int, as_of: dt.date
) -> pd.DataFrame:
    """Truth rows with the pipeline's label: 1 = churned in [t + lead, t + lead + horizon), null = unknown."""
    truth = pq.read_table(Path(truth_dir) / "truth.parquet").to_pandas()
    churn = read_accounts(sample_dir).set_index("account_id")["churn_date"]
    t = pd.to_datetime(truth["observation_date"])
    churn_at = pd.to_datetime(truth["account_id"].map(churn))
    lo, hi = t + pd.Timedelta(days=lead_days), t + pd.Timedelta(days=lead_days + horizon_days)
    label = ((churn_at >= lo) & (churn_at < hi)).astype("Int8")
    label[(hi > pd.Timestamp(as_of)) | (churn_at < lo)] = pd.NA
    return truth.assign(label=label)


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney, ties count half)."""
    ranks = pd.Series(score).rank(method="average").to_numpy()
    pos = label.astype(bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def oracle_metrics(rows: pd.DataFrame, last_months: int = 3) -> dict[str, float]:
    """AUC, mean p_churn and churn rate of the truth over the last `last_months` labelled months."""
    known = rows.dropna(subset=["label"])
    months = np.sort(known["observation_date"].unique())[-last_months:]
    test = known[known["observation_date"].isin(months)]
    label = test["label"].to_numpy(dtype=int)
    return {
        "oracle_auc": auc(test["p_churn"].to_numpy(), label),
        "mean_p_churn": float(test["p_churn"].mean()),
        "label_rate": float(label.mean()),
        "rows": len(test),
        "brier": float(np.mean((test["p_churn"].to_numpy() - label) ** 2)),
    }


def monthly_churn_by_segment(accounts: pd.DataFrame, start: dt.date, months: int, skip: int = 3) -> pd.Series:
    """Mean over data months of churned-in-month / active-at-month-start, per segment (first `skip` months
    left out: the survivors of the burn-in all renew in step at first)."""
    starts = pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), periods=months + 1, freq="MS")
    cs, cd = pd.to_datetime(accounts["contract_start"]), pd.to_datetime(accounts["churn_date"])
    rates = []
    for lo, hi in zip(starts[skip:-1], starts[skip + 1 :], strict=True):
        active = (cs < lo) & (cd.isna() | (cd >= lo))
        churned = active & (cd >= lo) & (cd < hi)
        rates.append(churned.groupby(accounts["segment"]).sum() / active.groupby(accounts["segment"]).sum())
    return pd.concat(rates, axis=1).mean(axis=1)
