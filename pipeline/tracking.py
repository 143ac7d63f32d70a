"""MLflow set-up shared by the stages: one store per project, lineage tags on every run.

The default store is ``sqlite:///<project>/mlflow.db`` with artifacts in ``<project>/mlartifacts``, by
absolute path. ``dvc exp run --temp/--queue`` runs in a copy under ``<project>/.dvc/tmp/exps/``; the
project root is found above that copy so its runs land in the project's store, not in the copy.
``MLFLOW_TRACKING_URI`` overrides the store.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

_DVC_TEMP = f"{os.sep}.dvc{os.sep}tmp{os.sep}exps{os.sep}"


def project_root(cwd: Path | None = None) -> Path:
    here = str((cwd or Path.cwd()).resolve())
    return Path(here.split(_DVC_TEMP)[0]) if _DVC_TEMP in here else Path(here)


def configure(experiment: str) -> str:
    """Point MLflow at the project's store and return the experiment id (created if new)."""
    root = project_root()
    uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        return found.experiment_id
    artifacts = (root / "mlartifacts").as_uri() if uri.startswith("sqlite:") else None
    return MlflowClient().create_experiment(experiment, artifact_location=artifacts)


def file_md5(path: Path) -> str:
    """DVC's hash of a single file (md5 of its bytes)."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dir_md5(path: Path) -> str:
    """A stable hash of a directory's files (relative path + md5 of each)."""
    digest = hashlib.md5()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path)}:{file_md5(file)}\n".encode())
    return digest.hexdigest()


def md5_of_test_rows(predictions: pd.DataFrame) -> str:
    """A hash of the test rows: which accounts at which dates, with which labels. Two models' test
    metrics compare only when it is the same: same data, same test period, same labelling."""
    test = predictions.loc[predictions["period"] == "test", ["account_id", "observation_date", "label"]]
    test = test.sort_values(["observation_date", "account_id"], ignore_index=True)
    return hashlib.md5(pd.util.hash_pandas_object(test, index=False).to_numpy().tobytes()).hexdigest()


def _git(*args: str) -> str | None:
    """The output of ``git args``, or None outside a git repository (or without git)."""
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout


def git_commit() -> str:
    out = _git("rev-parse", "HEAD")
    return "unknown" if out is None else out.strip()


def git_dirty(ignore: tuple[str, ...] = ()) -> str:
    """Whether tracked files other than `ignore` (paths or directories) differ from the commit: "true"
    when the run's code or params are not the commit's alone (as in a ``dvc exp run -S``), "false", or
    "unknown" outside git.

    The pipeline's own git-tracked outputs (``dvc.lock``, the reports) belong in `ignore`: a run rewrites
    them as it goes.
    """
    out = _git("status", "--porcelain", "--untracked-files=no")
    if out is None:
        return "unknown"
    changed = [line[3:].split(" -> ")[-1] for line in out.splitlines()]
    ignored = [path.rstrip("/") for path in ignore]
    mine = [c for c in changed if not any(c == i or c.startswith(f"{i}/") for i in ignored)]
    return "true" if mine else "false"


def lineage_tags(reports: Path) -> dict[str, str]:
    """Tags every run carries: the git commit, whether the working tree differed from it (`git_dirty`;
    `reports`, the pipeline's git-tracked outputs, aside), and the DVC experiment's name when DVC gives
    one (``dvc exp run --temp/--queue`` set ``DVC_EXP_NAME``)."""
    tags = {"git_commit": git_commit(), "git_dirty": git_dirty(("dvc.lock", str(reports)))}
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc_experiment"] = os.environ["DVC_EXP_NAME"]
    return tags


def flatten(params: dict, prefix: str = "") -> dict[str, str]:
    """Nested params as dotted keys, the way `dvc exp show` names them."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def find_run(experiment_id: str, tag: str, value: str, model: str) -> str | None:
    """Latest run of ``model`` whose ``tag`` equals ``value`` (how evaluate finds train's runs)."""
    runs = MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"tags.`{tag}` = '{value}' and tags.model = '{model}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs else None
