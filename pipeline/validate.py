"""Stage `validate`: raw input (any supported shape) -> contract-typed clean Parquet, quarantine, counts.

Exits with status 2 and a short message when the input needs fixing; CHURN_DEBUG=1 shows the traceback.
"""

from __future__ import annotations

import logging
import os
import sys

from ingest.errors import InputError
from ingest.importers import import_raw
from ingest.validate import describe_quarantine, validate_tables
from ingest.write import write_clean
from pipeline import setup_logging
from pipeline.config import load_params

log = logging.getLogger(__name__)


def main() -> None:
    setup_logging()
    params = load_params()
    cfg = params.validate_
    try:
        imported = import_raw(
            params.paths.raw, cfg.importer, cfg.mapping, cfg.churn_gap_days, params.data.as_of
        )
        data = validate_tables(imported.raws, imported.as_of, cfg.max_quarantine_share, imported.sources)
    except InputError as exc:
        if os.environ.get("CHURN_DEBUG") == "1":
            raise
        log.error("validate stopped, the input in %s needs fixing:\n%s", params.paths.raw, exc)
        sys.exit(2)
    write_clean(data, params.paths.clean, {"importer": cfg.importer})
    for line in describe_quarantine(data):
        log.warning("%s", line)
    used = {name: c["used"] for name, c in data.counts.items()}
    quarantined = sum(n for c in data.counts.values() for n in c["quarantined"].values())
    log.info("validate: as_of %s, rows used %s, quarantined %d", data.as_of, used, quarantined)


if __name__ == "__main__":
    main()
