"""Logging set-up: one line per event, with the process, thread, camera and job names.

Plain text by default; one JSON object per line with ``json_lines=True``, or when the
environment has ``VMS_LOG_JSON=1`` (inherited by the camera worker processes). A record
names its camera or job with ``extra={"camera": id}`` / ``extra={"job": name}``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

_CONTEXT = ("camera", "job")


def json_from_env() -> bool:
    return os.environ.get("VMS_LOG_JSON", "").strip().lower() in ("1", "true", "yes", "on")


class ContextFilter(logging.Filter):
    """Gives every record ``camera``, ``job`` (None unless set) and ``context`` (text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key in _CONTEXT:
            if not hasattr(record, key):
                setattr(record, key, None)
        found = [f"{k}={getattr(record, k)}" for k in _CONTEXT if getattr(record, k)]
        record.context = f" [{' '.join(found)}]" if found else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, process, thread, camera, job, message."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        for key in _CONTEXT:
            value = getattr(record, key, None)
            if value:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(level: int = logging.INFO, *, json_lines: bool | None = None) -> None:
    """Log to stderr; ``json_lines`` None: as the environment says (VMS_LOG_JSON)."""
    use_json = json_from_env() if json_lines is None else json_lines
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format=(
            "%(asctime)s %(levelname)-7s %(processName)s %(threadName)s %(name)s%(context)s: "
            "%(message)s"
        ),
        force=True,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(ContextFilter())
        if use_json:
            handler.setFormatter(JsonFormatter())
    for noisy in ("alembic", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
