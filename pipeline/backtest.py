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
    ev = params.evaluate
    table = rolling_origin(
        features,
        ev.backtest_origins,
        params.fit_settings(),
        ev.capacity_share,
        ev.calibration_bins,
        ev.emp.model_dump(),
    )
    with atomic_file(params.paths.reports / "backtest.csv") as tmp:
        table.round(6).to_csv(tmp, index=False)
    overall = table[(table["segment"] == "all")].pivot(index="test_month", columns="model", values="roc_auc")
    log.info("backtest ROC AUC per test month:\n%s", overall.round(3).to_string())


if __name__ == "__main__":
    main()
