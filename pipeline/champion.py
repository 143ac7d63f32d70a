"""Registry aliases: `champion` moves only to a version that beats it on the same test rows.

A version's test rows (`test_rows_md5`: accounts, dates and labels; see `tracking.md5_of_test_rows`), test
period and test ROC AUC are stored as version tags. When the champion was tested on other rows (other
data, another period or another labelling) it cannot be compared fairly, so the new version becomes
`challenger` and a person decides (`mlflow` UI or `MlflowClient.set_registered_model_alias`).
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
    run_tags = client.get_run(run_id).data.tags
    test_rows = run_tags.get("test_rows_md5", "")
    for tag in ("test_start", "test_rows_md5", "data_version"):
        client.set_model_version_tag(name, version.version, tag, run_tags.get(tag, ""))
    client.set_model_version_tag(name, version.version, "test_roc_auc", auc_tag(test_auc))
    champion = _current_champion(client, name)
    if champion is not None and champion.version == version.version:  # evaluate ran again on the champion
        log.info("%s version %s stays champion (test ROC AUC %.4f)", name, version.version, test_auc)
        return "champion"
    alias = decide_alias(champion, test_rows, test_auc)
    client.set_registered_model_alias(name, alias, version.version)
    log.info("%s version %s is now %s (test ROC AUC %.4f)", name, version.version, alias, test_auc)
    if alias == "challenger" and champion.tags.get("test_rows_md5") != test_rows:
        log.info(
            "the champion (version %s) was tested on other rows (other data, test period or labels), so "
            "the two do not compare; to promote this version: MlflowClient().set_registered_model_alias("
            "'%s', 'champion', '%s')",
            champion.version,
            name,
            version.version,
        )
    return alias


def auc_tag(test_auc: float) -> str:
    """The AUC as a version tag, every digit kept: rounded, an identical re-run would read as better."""
    return repr(float(test_auc))


def decide_alias(champion, test_rows: str, test_auc: float) -> str:
    """`champion` for the first version or a better one on the same test rows, else `challenger`."""
    if champion is None:
        return "champion"
    same_rows = bool(test_rows) and champion.tags.get("test_rows_md5") == test_rows
    if same_rows and test_auc > float(champion.tags.get("test_roc_auc", "nan")):
        return "champion"
    return "challenger"


def _current_champion(client: MlflowClient, name: str):
    try:
        return client.get_model_version_by_alias(name, "champion")
    except MlflowException:
        return None
