"""DVC stage `backtest`: rolling-origin evaluation over the last months, per model and segment."""

from __future__ import annotations

import logging

from ingest.atomic import atomic_file
from models.backtest import rolling_origin
from models.encoding import read_features
from pipeline import setup_logging
from pipeline.config import load_params

log = logging.getLogger("pipeline.backtest")


def main() -> None:
    setup_logging()
    params = load_params()
    features = read_features(params.paths.features / "features.parquet")
    cfg = params.train
    fit_kwargs = {
        "label_days": params.featurize.lead_days + params.featurize.horizon_days,
        "valid_months": cfg.valid_months,
        "calibration": cfg.calibration,
        "lgbm_params": cfg.lgbm.model_dump(),
        "logreg_c": cfg.logreg_c,
        "health_weights": dict(cfg.health_score),
    }
    ev = params.evaluate
    table = rolling_origin(
        features, ev.backtest_origins, fit_kwargs, ev.capacity_share, ev.calibration_bins, ev.emp.model_dump()
    )
    with atomic_file(params.paths.reports / "backtest.csv") as tmp:
        table.round(6).to_csv(tmp, index=False)
    overall = table[(table["segment"] == "all")].pivot(index="test_month", columns="model", values="roc_auc")
    log.info("backtest ROC AUC per test month:\n%s", overall.round(3).to_string())


if __name__ == "__main__":
    main()
