"""Benchmark: score N accounts' feature rows with reasons (TreeSHAP, tiers, ranks, reason texts), in memory.

    .venv/bin/python -m benchmarks.bench_score --rows 1000000

Uses the pipeline's own trained model (``paths.model``: lgbm.txt, feature_spec.json, calibrator.json) and
the real feature rows of the latest observation date (``paths.features``), resampled with replacement to
``--rows`` accounts with new ids; their accounts-table rows are resampled the same way. Run ``dvc repro``
first. The clock covers ``score_rows`` (encoding, TreeSHAP ``pred_contrib``, calibration) and
``build_risk_list`` (tiers, ranks, three reasons plus one protective factor in plain words) for one
snapshot; reading the inputs and building the resampled frame are not timed. Target: under 60 s for 1M
rows on the 2-core development machine. Results are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import pandas as pd

from models.encoding import read_features
from models.risk_list import ScoringModel, build_risk_list, pick_dates, score_rows, snapshot
from pipeline.config import load_params
from pipeline.score import settings_from


def resampled(
    features: pd.DataFrame, accounts: pd.DataFrame, rows: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`rows` feature rows drawn from one snapshot, each under a new account id, with matching accounts."""
    picks = np.random.default_rng(seed).integers(0, len(features), rows)
    ids = pd.Series([f"B{i:08d}" for i in range(rows)], dtype="str")
    frame = jittered(features.iloc[picks].reset_index(drop=True).assign(account_id=ids), seed)
    by_id = accounts.drop_duplicates("account_id").set_index("account_id")
    facts = by_id.reindex(features["account_id"].to_numpy()[picks]).reset_index(drop=True)
    return frame, facts.assign(account_id=ids)


def jittered(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Spread each numeric feature by a few percent (whole numbers stay whole), so that resampled rows
    have about as many distinct values as real accounts would: reasons are worded once per distinct value."""
    rng = np.random.default_rng(seed + 1)
    out = frame.copy()
    for column in frame.columns:
        if column == "label" or not pd.api.types.is_numeric_dtype(frame[column]):
            continue
        values = frame[column].to_numpy(dtype="float64", na_value=np.nan)
        spread = values * rng.lognormal(0.0, 0.1, len(values))
        whole = np.nan_to_num(values) == np.round(np.nan_to_num(values))
        out[column] = pd.Series(np.where(whole, np.round(spread), spread)).astype(frame[column].dtype)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    params = load_params()
    model = ScoringModel.from_dir(params.paths.model)
    features = read_features(params.paths.features / "features.parquet")
    date, _ = pick_dates(features, None)
    accounts = pd.read_parquet(params.paths.clean / "accounts.parquet")
    frame, facts = resampled(snapshot(features, date), accounts, args.rows, args.seed)

    start = time.perf_counter()
    scored = score_rows(model, frame)
    t_score = time.perf_counter() - start
    risk = build_risk_list(model, scored, facts, date, settings_from(params.score))
    total = time.perf_counter() - start
    result = {
        "rows": args.rows,
        "features": len(model.spec.features),
        "trees": model.booster.num_trees(),
        "seconds_scores_and_contributions": round(t_score, 1),
        "seconds_total_with_reasons": round(total, 1),
        "rows_per_second": round(args.rows / total),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "tiers": risk.accounts["tier"].value_counts().to_dict(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
