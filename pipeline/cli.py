"""The `churn` command line. `churn score` scores any date with any model into a directory; `churn features`
lists the feature columns.

churn score                                     # latest date, the pipeline's model, into paths.scores
churn score --as-of 2025-12-01 --model models:/churn-lgbm@champion --out data/scores-dec
churn score --previous data/scores/risk_list.parquet   # change against an earlier list
churn features [--format csv]                   # every feature column, in plain words
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from lightgbm.basic import LightGBMError

from features.registry import FeatureSpec, feature_specs
from ingest.atomic import atomic_dir
from models.risk_list import spreadsheet_safe
from pipeline import setup_logging
from pipeline.config import load_params
from pipeline.score import OUTPUT_FILES, load_model, score_accounts, write_outputs

app = typer.Typer(help="Churn prediction for B2B SaaS customer success.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Churn pipeline commands (the DVC stages run through `dvc repro`)."""


@app.command()
def score(
    as_of: Annotated[
        dt.datetime | None,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="Score the latest observation date on or before this."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="A model directory or a registry URI such as models:/churn-lgbm@champion."),
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="An earlier risk_list.parquet to compare with."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output directory (default: paths.scores).")] = None,
    params_file: Annotated[
        Path,
        typer.Option(
            "--params",
            exists=True,
            dir_okay=False,
            help="The project's params.yaml (from outside the project's folder, give its path): its paths,"
            " and the MLflow store, are the project's.",
        ),
    ] = Path("params.yaml"),
) -> None:
    """Score every active account into a risk list, a change report and an HTML report."""
    setup_logging(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one bar is enough: ours
    # Paths given here are the caller's; those in params.yaml (and mlflow.db) are the project's.
    out, previous = (p.resolve() if p is not None else None for p in (out, previous))
    if model is not None and not model.startswith("models:/"):
        model = str(Path(model).resolve())
    caller = Path.cwd()
    os.chdir(params_file.resolve().parent)
    params = load_params(params_file.name)
    target = out or params.paths.scores
    try:
        check_replaceable(target)
        scoring_model = load_model(model or params.paths.model, params.train.experiment)
        earlier = pd.read_parquet(previous) if previous is not None else None
        rows = _rows_to_score(params.paths.features / "features.parquet", earlier is None)
        with typer.progressbar(length=rows, label="Scoring", show_pos=True) as bar:
            risk = score_accounts(
                params, scoring_model, as_of.date() if as_of else None, earlier, progress=bar.update
            )
    except Exception as exc:
        if not is_user_error(exc) or os.environ.get("CHURN_DEBUG") == "1":
            raise
        typer.echo(f"churn score: {str(exc).strip().splitlines()[0]}", err=True)
        raise typer.Exit(2) from None
    with atomic_dir(target) as tmp:
        write_outputs(risk, tmp, params.score.report_rows, str(model or params.paths.model))
    counts = risk.accounts["tier"].value_counts()
    scored = risk.observation_date.date()
    latest = (
        f" (the latest observation date on or before {as_of.date()})"
        if as_of and as_of.date() != scored
        else ""
    )
    typer.echo(
        f"{len(risk.accounts)} accounts at {scored}{latest}: "
        + ", ".join(f"{counts.get(t, 0)} {t}" for t in ("red", "yellow", "green"))
        + f"; {len(risk.changes)} changed tier, {int(risk.changes['moved_into_red'].sum())} of them into red"
        + f" -> {shown_path(target, caller)}"
    )


FAMILY_TITLES = {
    "account": "Account and contract",
    "logins": "Logins",
    "records": "Record events",
    "adoption": "Feature adoption",
    "rates": "Tenure-scaled rates",
}


@app.command()
def features(
    fmt: Annotated[
        str, typer.Option("--format", help="markdown (a page per family) or csv (one row per column).")
    ] = "markdown",
    params_file: Annotated[
        Path, typer.Option("--params", exists=True, dir_okay=False, help="The params.yaml to read.")
    ] = Path("params.yaml"),
) -> None:
    """List every feature column the configured windows and lists give, in plain words.

    `docs/features.md` is this command's Markdown for the project's params.yaml.
    """
    specs = feature_specs(load_params(params_file).featurize)
    if fmt == "csv":
        table = spreadsheet_safe(pd.DataFrame([asdict(spec) for spec in specs]))
        typer.echo(table.to_csv(index=False), nl=False)
    elif fmt == "markdown":
        typer.echo(features_markdown(specs), nl=False)
    else:
        raise typer.BadParameter(f"{fmt!r}: expected markdown or csv", param_hint="--format")


def features_markdown(specs: list[FeatureSpec]) -> str:
    """The feature registry as a Markdown page: a table per family, in column order."""
    lines = [
        "# Features",
        "",
        "Every column of `features.parquet` after its keys and label, from the feature registry",
        "(`features/registry.py`) and the `featurize` section of `params.yaml`. Written by",
        "`churn features > docs/features.md`; a test fails when this page and the registry disagree.",
        "",
        "A feature at observation date t uses only events before t, and a w-day window is [t - w, t).",
        '"Healthier when" is the direction the model is held to (`train.monotone`); "Risk list" says',
        "whether the risk list gives the column as a reason or as the account's context. An empty value",
        "(a float column's null) means what the last column says.",
    ]
    for family, title in FAMILY_TITLES.items():
        rows = [spec for spec in specs if spec.family == family]
        lines += [
            "",
            f"## {title} ({len(rows)})",
            "",
            "| Column | What it is | Unit | Healthier when | Risk list | Empty means |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [_markdown_row(spec) for spec in rows]
    return "\n".join(lines) + "\n"


def _markdown_row(spec: FeatureSpec) -> str:
    cells = [
        f"`{spec.name}`",
        spec.description,
        spec.unit,
        spec.healthy_when or "-",
        "context" if spec.context else "reason",
        spec.missing if spec.dtype == "float64" else "-",  # integer and text columns are never empty
    ]
    return "| " + " | ".join(cells) + " |"


def shown_path(path: Path, caller: Path) -> Path:
    """`path` relative to the caller's directory when inside it, else absolute (not '../out')."""
    path = path.resolve()
    return path.relative_to(caller) if path.is_relative_to(caller) else path


def is_user_error(exc: Exception) -> bool:
    """Wrong input rather than a bug, worth one line on stderr and exit status 2 (CHURN_DEBUG=1 shows
    the traceback): a bad date or list (ValueError, pyarrow's ArrowInvalid among them), a missing
    file, a model directory or registry name that is not there (LightGBM's and MLflow's own errors).
    MLflow is imported only for a registry URI, and so is checked only then."""
    mlflow_errors = sys.modules.get("mlflow.exceptions")
    registry = (mlflow_errors.MlflowException,) if mlflow_errors else ()
    return isinstance(exc, (ValueError, OSError, LightGBMError, *registry))


def check_replaceable(target: Path) -> None:
    """The output directory is replaced as a whole: refuse one that holds anything but a risk list's
    files (``--out .`` must not take the project with it)."""
    if not target.exists():
        return
    if not target.is_dir():
        raise FileExistsError(f"{target} is a file, not a directory")
    others = sorted(p.name for p in target.iterdir() if p.name not in OUTPUT_FILES)
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise FileExistsError(f"{target} holds other files ({shown}); give an empty or new directory")


def _rows_to_score(features: Path, with_previous: bool) -> int:
    """An estimate for the progress bar: the rows of the last one or two observation dates."""
    dates = (
        pd.read_parquet(features, columns=["observation_date"])["observation_date"]
        .value_counts()
        .sort_index()
    )
    return int(dates.iloc[-2:].sum() if with_previous else dates.iloc[-1:].sum())


if __name__ == "__main__":
    app()
