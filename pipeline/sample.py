"""Stage `sample`: simulate the built-in sample (contract tables) and its ground truth."""

from __future__ import annotations

import logging

from pipeline import setup_logging
from pipeline.config import load_params
from simulator import simulate_to_dir

log = logging.getLogger(__name__)


def main() -> None:
    setup_logging()
    params = load_params()
    summary = simulate_to_dir(params.sample, params.featurize, params.paths.sample, params.paths.truth)
    log.info(
        "sample: %d accounts (%d churned), %d history rows, events %s, %d truth rows -> %s, %s",
        summary.accounts,
        summary.churned,
        summary.history_rows,
        summary.rows,
        summary.truth_rows,
        params.paths.sample,
        params.paths.truth,
    )


if __name__ == "__main__":
    main()
