"""Registry aliases: `champion` moves only to a version that beats it on the same test period.

A version's test period and test ROC AUC are stored as version tags. When the champion was tested on
another period it cannot be compared fairly, so the new version becomes `challenger` and a person
decides (`mlflow` UI or `MlflowClient.set_registered_model_alias`).
"""

from __future__ import annotations

import logging

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pipeline.config import Params

log = logging.getLogger(__name__)


def promote_if_better(
    params: Params, run_id: str, test_auc: float, client: MlflowClient | None = None
) -> str:
    """Tag the run's registered version and give it `champion` or `challenger`; returns the alias.

    `client` defaults to one on the configured store (see `pipeline.tracking.configure`).
    """
    client = client or MlflowClient()
    name = params.train.registered_model
    versions = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    if not versions:
        log.warning("run %s has no registered version of %s", run_id, name)
        return ""
    version = versions[0]
    test_start = client.get_run(run_id).data.tags.get("test_start", "")
    client.set_model_version_tag(name, version.version, "test_start", test_start)
    client.set_model_version_tag(name, version.version, "test_roc_auc", auc_tag(test_auc))
    champion = _current_champion(client, name)
    if champion is not None and champion.version == version.version:  # evaluate ran again on the champion
        log.info("%s version %s stays champion (test ROC AUC %.4f)", name, version.version, test_auc)
        return "champion"
    alias = decide_alias(champion, test_start, test_auc)
    client.set_registered_model_alias(name, alias, version.version)
    log.info("%s version %s is now %s (test ROC AUC %.4f)", name, version.version, alias, test_auc)
    return alias


def auc_tag(test_auc: float) -> str:
    """The AUC as a version tag, every digit kept: rounded, an identical re-run would read as better."""
    return repr(float(test_auc))


def decide_alias(champion, test_start: str, test_auc: float) -> str:
    if champion is None:
        return "champion"
    same_period = champion.tags.get("test_start") == test_start
    if same_period and test_auc > float(champion.tags.get("test_roc_auc", "nan")):
        return "champion"
    return "challenger"


def _current_champion(client: MlflowClient, name: str):
    try:
        return client.get_model_version_by_alias(name, "champion")
    except MlflowException:
        return None
