"""Logging set-up: one line per event, with the process and thread (camera) names."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(processName)s %(threadName)s %(name)s: %(message)s",
        force=True,
    )
    for noisy in ("alembic", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
