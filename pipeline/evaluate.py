"""DVC stage `evaluate`: out-of-time metrics for LightGBM, both baselines and (when known) the oracle.

Writes ``reports/metrics.json`` (for `dvc metrics`), plot data under ``reports/plots`` (for `dvc plots`),
PNG figures under ``reports/figures``; logs the same to each model's MLflow run and moves the registry
alias ``champion`` only when the new model beats the champion on the same test rows. Records what it
logged in ``paths.tracking``/evaluate.json: the one output not kept in git, so that a fresh clone, whose
MLflow store is empty, runs this stage instead of finding the git-tracked reports up to date.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd

from ingest.atomic import atomic_dir, atomic_file
from models.encoding import FeatureSpec, encode, read_features
from models.evaluation import curve_points, evaluate_models
from models.figures import plot_curves, plot_importance, plot_shap_summary
from models.train import MODELS
from pipeline import champion, setup_logging, tracking
from pipeline.config import Params, load_params

log = logging.getLogger("pipeline.evaluate")

COMPARED_FIGURES = ("roc", "pr", "calibration", "gains")  # one curve per model; logged to every run


def load_test(params: Params) -> tuple[pd.DataFrame, list[str]]:
    """Test-period predictions, joined with the simulator's truth when the pipeline reads the simulator's
    sample (``paths.raw`` is ``paths.sample``). The truth belongs to that sample only: with your own
    data there is no oracle, even though the sample stage still writes its truth."""
    predictions = pd.read_parquet(params.paths.model / "predictions.parquet")
    test = predictions[predictions["period"] == "test"].reset_index(drop=True)
    models = list(MODELS)
    truth_file = params.paths.truth / "truth.parquet"
    if params.paths.raw.resolve() != params.paths.sample.resolve():
        log.info("paths.raw (%s) is not the simulator's sample: no oracle", params.paths.raw)
    elif truth_file.exists():
        truth = pd.read_parquet(truth_file, columns=["account_id", "observation_date", "p_churn"])
        truth["observation_date"] = pd.to_datetime(truth["observation_date"]).dt.tz_localize("UTC")
        test = test.merge(truth.rename(columns={"p_churn": "p_oracle"}), how="left", validate="one_to_one")
        missing = int(test["p_oracle"].isna().sum())
        if missing:
            raise ValueError(f"{truth_file}: no true probability for {missing} test snapshots")
        models.append("oracle")
    return test, models


def write_plots(test: pd.DataFrame, models: list[str], params: Params) -> dict[str, dict[str, pd.DataFrame]]:
    bins = params.evaluate.calibration_bins
    curves = {name: curve_points(test, name, bins) for name in models}
    with atomic_dir(params.paths.reports / "plots") as out:
        for name, kinds in curves.items():
            for kind, frame in kinds.items():
                frame.to_csv(out / f"{kind}_{name}.csv", index=False)
    return curves


def write_figures(curves, params: Params, out: Path) -> None:
    for kind in COMPARED_FIGURES:
        plot_curves(kind, {name: c[kind] for name, c in curves.items()}, out / f"{kind}.png")
    features = read_features(params.paths.features / "features.parquet")
    spec = FeatureSpec.load(params.paths.model / "feature_spec.json")
    booster = lgb.Booster(model_file=str(params.paths.model / "lgbm.txt"))
    x = encode(features[features["observation_date"] == features["observation_date"].max()], spec)
    names = list(spec.features)
    plot_importance(
        names, booster.feature_importance("gain"), "Feature importance (gain)", out / "importance.png"
    )
    contrib = booster.predict(x, pred_contrib=True)[:, :-1]
    plot_shap_summary(names, contrib, x, out / "shap_summary.png")


def log_to_mlflow(params: Params, report: dict, figures: Path) -> dict:
    """Log the test metrics and figures to train's run of each model; returns what was logged where.

    The record holds no run ids or versions, which differ from store to store: the same inputs give the
    same record. The runs are found again by their ``predictions_md5`` tag.
    """
    experiment_id = tracking.configure(params.train.experiment)
    predictions_md5 = tracking.file_md5(params.paths.model / "predictions.parquet")
    logged = []
    for name in MODELS:
        run_id = tracking.find_run(experiment_id, "predictions_md5", predictions_md5, name)
        if run_id is None:
            log.warning("no MLflow run of %s for these predictions: metrics not logged there", name)
            continue
        with mlflow.start_run(run_id=run_id):
            # tags, not params: changing only evaluate's params evaluates train's runs again, and MLflow
            # would refuse a param's new value
            mlflow.set_tags(tracking.flatten({"evaluate": params.evaluate.model_dump(mode="json")}))
            mlflow.log_metrics(flat_metrics(report, name))
            # the curves compare all models; importance and SHAP are LightGBM's
            for figure in sorted(figures.glob("*.png")):
                if name == "lightgbm" or figure.stem in COMPARED_FIGURES:
                    mlflow.log_artifact(str(figure), "figures")
            mlflow.log_dict(report, "metrics.json")
        if name == "lightgbm":
            champion.promote_if_better(params, run_id, report["lightgbm"]["roc_auc"])
        logged.append(name)
    return {
        "experiment": params.train.experiment,
        "registered_model": params.train.registered_model,
        "runs_logged": logged,
        "run_filter": f"tags.predictions_md5 = '{predictions_md5}'",
    }


def flat_metrics(report: dict, name: str) -> dict[str, float]:
    """`test_roc_auc`, `test_smb_roc_auc`, ... and the ratio to the oracle; same keys for every model."""
    metrics = {f"test_{k}": v for k, v in report[name].items() if k != "segment"}
    for segment, values in report[name]["segment"].items():
        metrics.update({f"test_{segment}_{k}": v for k, v in values.items()})
    for k, v in report.get("ratio_to_oracle", {}).get(name, {}).items():
        metrics[f"test_{k}_vs_oracle"] = v
    return metrics


def main() -> None:
    setup_logging()
    params = load_params()
    test, models = load_test(params)
    cfg = params.evaluate
    report = evaluate_models(test, models, cfg.capacity_share, cfg.calibration_bins, cfg.emp.model_dump())
    curves = write_plots(test, models, params)
    with atomic_dir(params.paths.reports / "figures") as figures:
        write_figures(curves, params, figures)
    with atomic_file(params.paths.reports / "metrics.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    record = log_to_mlflow(params, report, params.paths.reports / "figures")
    with atomic_dir(params.paths.tracking) as out:
        (out / "evaluate.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    summary = {name: round(report[name].get("roc_auc", np.nan), 4) for name in models}
    log.info("out-of-time ROC AUC on %d test snapshots: %s", len(test), summary)


if __name__ == "__main__":
    main()
