"""DVC stage `train`: LightGBM and two baselines on a time split, logged to MLflow.

Writes into ``paths.model``: the native LightGBM model, its feature spec and calibrator, the baselines
as JSON, the split, and validation/test predictions of every model for the evaluate stage.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import mlflow
import yaml

from ingest.atomic import atomic_dir
from ingest.contract import read_as_of
from models.encoding import encode, read_features
from models.split import SplitError
from models.train import MODELS, Trained, fit_all
from pipeline import setup_logging, tracking
from pipeline.config import Params, load_params

log = logging.getLogger("pipeline.train")


def write_outputs(trained: Trained, out) -> None:
    trained.booster.save_model(out / "lgbm.txt", num_iteration=trained.booster.best_iteration)
    trained.spec.save(out / "feature_spec.json")
    trained.calibrators["lightgbm"].save(out / "calibrator.json")
    baselines = {
        "logreg": trained.logreg,
        "health_score": trained.health,
        "calibrators": {k: v.__dict__ for k, v in trained.calibrators.items() if k != "lightgbm"},
    }
    (out / "baselines.json").write_text(
        json.dumps(baselines, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    (out / "split.json").write_text(json.dumps(trained.split.describe(), indent=2) + "\n", encoding="utf-8")
    trained.predictions.to_parquet(out / "predictions.parquet", index=False)


def log_runs(params: Params, raw_params: dict, trained: Trained, model_dir) -> None:
    """One MLflow run per model, tagged so that evaluate can find them by the predictions' hash."""
    experiment_id = tracking.configure(params.train.experiment)
    tags = {
        **tracking.lineage_tags(params.paths.reports),
        "data_version": tracking.dir_md5(params.paths.clean),
        "raw_path": str(params.paths.raw),
        "as_of": _as_of(params.paths.clean),
        "features_md5": tracking.file_md5(params.paths.features / "features.parquet"),
        "predictions_md5": tracking.file_md5(model_dir / "predictions.parquet"),
        "test_start": trained.split.describe()["test_start"],
        "test_rows_md5": tracking.md5_of_test_rows(trained.predictions),
    }
    for name in MODELS:
        with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags={**tags, "model": name}):
            mlflow.log_params(tracking.flatten({k: raw_params[k] for k in ("featurize", "train")}))
            mlflow.log_dict(list(trained.spec.features), "feature_list.json")
            if name == "lightgbm":
                log_lightgbm(params, trained, model_dir)


def log_lightgbm(params: Params, trained: Trained, model_dir) -> None:
    for split_name, metrics in trained.curves.items():
        for metric, values in metrics.items():
            for step, value in enumerate(values):
                mlflow.log_metric(f"curve_{split_name}_{metric}", value, step=step)
    mlflow.log_metric("best_iteration", trained.booster.best_iteration)
    mlflow.log_dict(trained.lgbm_params, "lgbm_params.json")  # after tuning, when it is on
    mlflow.log_artifact(str(model_dir / "calibrator.json"))
    mlflow.log_artifact(str(model_dir / "feature_spec.json"))
    example = read_features(params.paths.features / "features.parquet").head(5)
    x = encode(example, trained.spec)
    mlflow.lightgbm.log_model(
        trained.booster,
        name="model",
        signature=mlflow.models.infer_signature(x, trained.booster.predict(x)),
        registered_model_name=params.train.registered_model,
    )


def _as_of(clean: Path) -> str:
    """The data cut-off validate resolved (data.as_of, or inferred from the events), for a tag."""
    return read_as_of(clean).isoformat() if (clean / "manifest.json").exists() else "unknown"


def train_models(params: Params, features) -> Trained:
    cfg = params.train
    return fit_all(
        features, test_months=cfg.test_months, tuning=cfg.tuning.model_dump(), **params.fit_settings()
    )


def main() -> None:
    setup_logging()
    params = load_params()
    with open("params.yaml", encoding="utf-8") as fh:
        raw_params = yaml.safe_load(fh)
    features = read_features(params.paths.features / "features.parquet")
    try:
        trained = train_models(params, features)
    except SplitError as exc:  # the data's fault, not the code's: a short message, no traceback
        log.error("train: %s", exc)
        sys.exit(2)
    with atomic_dir(params.paths.model) as out:
        write_outputs(trained, out)
    log_runs(params, raw_params, trained, params.paths.model)
    log.info("trained %d rounds on %d features", trained.booster.best_iteration, len(trained.spec.features))


if __name__ == "__main__":
    main()
