"""Thin DVC stage entry points (`python -m pipeline.<stage>`) and the `churn` command line."""

import logging


def setup_logging(level: int = logging.INFO) -> None:
    """The stages' one log format: time, level, logger, message."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
