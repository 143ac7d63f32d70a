"""DVC stage `score`: the risk list at the latest observation date, with the change since the one before.

Writes ``paths.scores`` atomically: risk_list.parquet (everything), risk_list.csv (spreadsheet-safe, CRM
column order), changes.csv / changes.parquet (tier changes with their drivers) and report.html.
The model is the pipeline's own (``paths.model``) or, from the CLI, any ``models:/name@alias`` URI.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ingest.atomic import atomic_dir
from models.calibration import Calibrator
from models.encoding import FeatureSpec, read_features
from models.report import render_report
from models.risk_list import (
    ListSettings,
    RiskList,
    ScoringModel,
    build_risk_list,
    csv_columns,
    pick_dates,
    plain_number,
    score_rows,
    snapshot,
    spreadsheet_safe,
)
from models.tiers import TierRule
from pipeline import setup_logging
from pipeline.config import Params, Score, load_params

log = logging.getLogger("pipeline.score")


MODEL_FILES = ("lgbm.txt", "feature_spec.json", "calibrator.json")
OUTPUT_FILES = ("risk_list.parquet", "risk_list.csv", "changes.parquet", "changes.csv", "report.html")
PREVIOUS_COLUMNS = ("account_id", "churn_probability", "tier", "observation_date")


def load_model(source: str | Path, experiment: str) -> ScoringModel:
    """A model directory (lgbm.txt, feature_spec.json, calibrator.json) or a registry URI
    (``models:/name@alias`` or ``models:/name/version``) whose run holds the calibrator and spec."""
    if not str(source).startswith("models:/"):
        missing = [f for f in MODEL_FILES if not (Path(source) / f).is_file()]
        if missing:
            raise FileNotFoundError(f"{source} is not a model directory: it lacks {', '.join(missing)}")
        return ScoringModel.from_dir(Path(source))
    import mlflow
    from mlflow.store.artifact.utils.models import get_model_name_and_version
    from mlflow.tracking import MlflowClient

    from pipeline import tracking

    tracking.configure(experiment)
    client = MlflowClient()
    name, version = get_model_name_and_version(client, str(source))
    run_id = client.get_model_version(name, version).run_id
    booster = mlflow.lightgbm.load_model(str(source))
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="feature_spec.json", dst_path=tmp
        )
        calibrator_path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="calibrator.json", dst_path=tmp
        )
        model = ScoringModel(
            booster, FeatureSpec.load(Path(spec_path)), Calibrator.load(Path(calibrator_path))
        )
    log.info("loaded %s version %s (run %s)", name, version, run_id)
    return model


def settings_from(score: Score) -> ListSettings:
    t = score.tiers
    rule = TierRule(t.method, t.red, t.yellow, t.capacity_unit, t.per_segment, dict(t.segments))
    return ListSettings(
        rule,
        n_reasons=score.n_reasons,
        n_protective=score.n_protective,
        n_context=score.n_context,
        n_drivers=score.n_drivers,
        usual_range=tuple(score.usual_range),
    )


def score_accounts(
    params: Params,
    model: ScoringModel,
    as_of: dt.date | None = None,
    previous_list: pd.DataFrame | None = None,
    progress: Callable[[int], None] | None = None,
) -> RiskList:
    """Score the date (latest, or the latest on or before ``as_of``) and the date before it."""
    features = read_features(params.paths.features / "features.parquet")
    accounts = pd.read_parquet(params.paths.clean / "accounts.parquet")
    date, previous_date = pick_dates(features, as_of)
    if previous_list is not None:
        previous_date = check_previous_list(previous_list, date)
    current = score_rows(model, snapshot(features, date), progress=progress)
    previous = None
    if previous_date is not None and (features["observation_date"] == previous_date).any():
        previous = score_rows(model, snapshot(features, previous_date), progress=progress)
    return build_risk_list(
        model, current, accounts, date, settings_from(params.score), previous, previous_date, previous_list
    )


def check_previous_list(previous_list: pd.DataFrame, date: pd.Timestamp) -> pd.Timestamp | None:
    """The date of an earlier risk list (``--previous``); ValueError unless it is one, of a date before
    ``date``: a change against a later list would run backwards."""
    missing = [c for c in PREVIOUS_COLUMNS if c not in previous_list.columns]
    if missing:
        raise ValueError(f"the previous list lacks {', '.join(missing)}: is it a risk_list.parquet?")
    if not len(previous_list):
        return None
    previous_date = pd.Timestamp(previous_list["observation_date"].iloc[0])
    if previous_date >= date:
        raise ValueError(
            f"the previous list is of {previous_date.date()}, not before the scored date {date.date()}"
        )
    return previous_date


# UTF-8 with a byte-order mark: without it Excel reads the file as the local code page, and '16–201'
# or 'Müller' turn into mojibake. pandas, Python's csv module and Google Sheets all read the mark.
CSV_ENCODING = "utf-8-sig"


def write_outputs(risk: RiskList, out: Path, report_rows: int, model_name: str) -> None:
    risk.accounts.to_parquet(out / "risk_list.parquet", index=False)
    csv = risk.accounts[csv_columns(risk.accounts)].assign(
        observation_date=risk.observation_date.strftime("%Y-%m-%d")
    )
    csv = csv.round({"arr": 2, "arr_at_risk": 2})  # money to the cent; probabilities keep six decimals
    spreadsheet_safe(csv).to_csv(
        out / "risk_list.csv", index=False, float_format=plain_number, encoding=CSV_ENCODING
    )
    risk.changes.to_parquet(out / "changes.parquet", index=False)
    changes_csv = risk.changes[
        [c for c in risk.changes.columns if not c.endswith(("_feature", "_contribution", "_remainder"))]
    ]
    spreadsheet_safe(changes_csv).to_csv(
        out / "changes.csv", index=False, float_format=plain_number, encoding=CSV_ENCODING
    )
    (out / "report.html").write_text(render_report(risk, report_rows, model_name), encoding="utf-8")


def main() -> None:
    setup_logging()
    params = load_params()
    model = load_model(params.paths.model, params.train.experiment)
    risk = score_accounts(params, model)
    with atomic_dir(params.paths.scores) as out:
        write_outputs(risk, out, params.score.report_rows, str(params.paths.model))
    tiers = risk.accounts["tier"].value_counts().to_dict()
    log.info(
        "scored %d accounts at %s: %s; %d changed tier",
        len(risk.accounts),
        risk.observation_date.date(),
        tiers,
        len(risk.changes),
    )


if __name__ == "__main__":
    main()
