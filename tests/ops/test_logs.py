"""Structured logs: one line per event, JSON on request, with camera and job names."""

from __future__ import annotations

import json
import logging

import pytest

from vms.logs import setup_logging


def test_json_lines_name_the_camera_and_the_job(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VMS_LOG_JSON", "1")
    try:
        setup_logging(logging.INFO)
        log = logging.getLogger("vms.test")
        log.info("stalled", extra={"camera": "street-1"})
        log.warning("slow", extra={"job": "retention"})
        lines = capsys.readouterr().err.strip().splitlines()
    finally:
        setup_logging(logging.WARNING, json_lines=False)
    first, second = (json.loads(line) for line in lines[-2:])
    assert first["camera"] == "street-1"
    assert first["message"] == "stalled"
    assert first["level"] == "INFO"
    assert second["job"] == "retention"
    assert "camera" not in second


def test_text_lines_carry_the_context(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        setup_logging(logging.INFO, json_lines=False)
        logging.getLogger("vms.test").info("done", extra={"job": "segment-verify"})
        err = capsys.readouterr().err
    finally:
        setup_logging(logging.WARNING, json_lines=False)
    assert "vms.test [job=segment-verify]: done" in err
