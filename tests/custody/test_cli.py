"""``vms custody``: the ledger from the command line, with --json output."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from vms.cli import app
from vms.errors import NotFoundError

CONFIG = {
    "cameras": [
        {
            "id": "cell-cam",
            "kind": "custody",
            "site": "Station 1",
            "room": "Cell 1",
            "room_type": "cell",
            "source": "synthetic://cell-cam",
        }
    ],
    "custody": {
        "sites": [
            {
                "name": "Station 1",
                "rooms": [
                    {"name": "Holding 1", "type": "holding"},
                    {"name": "Interrogation 1", "type": "interrogation", "id": "int-1"},
                ],
            }
        ]
    },
}


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "vms.yaml"
    path.write_text(yaml.safe_dump({"storage": {"root": str(tmp_path / "store")}, **CONFIG}))
    return path


def ago(minutes: float) -> str:
    """A time this long before now (entries made after the fact; never in the future)."""
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def vms(cfg: Path, *args: str) -> Any:
    res = CliRunner().invoke(app, ["custody", *args, "-c", str(cfg), "--json"])
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_ledger_from_the_command_line(cfg: Path) -> None:
    p = vms(
        cfg,
        "enter",
        "--name",
        "Zhang San",
        "--reason",
        "theft",
        "--basis",
        "summons",
        "--room",
        "Holding 1",
        "--by",
        "desk",
        "--id-number",
        "110101",
        "--case",
        "A-1",
        "--at",
        ago(13 * 60),
    )
    assert (p["id"], p["room"], p["legal_basis"], p["limit_h"]) == (1, "holding-1", "summons", 12.0)
    iv = vms(
        cfg,
        "interview-start",
        "1",
        "--room",
        "int-1",
        "--officer",
        "Li Wei:031245",
        "--officer",
        "Wang Fang:031877",
        "--by",
        "li",
        "--at",
        ago(13 * 60 - 10),
    )
    assert iv["officers"] == [
        {"name": "Li Wei", "badge": "031245"},
        {"name": "Wang Fang", "badge": "031877"},
    ]
    ended = vms(cfg, "interview-end", str(iv["id"]), "--by", "li", "--at", ago(13 * 60 - 40))
    # The interview room has no camera: its recording is incomplete, the whole of it.
    assert ended["recording_incomplete"] is True
    assert ended["gaps"][0]["reasons"] == ["the room has no camera"]
    assert vms(cfg, "move", "1", "--room", "cell-1", "--by", "li")["room"] == "cell-1"
    check = vms(cfg, "check", "1", "--by", "guard", "--note", "asleep")
    assert (check["source"], check["note"]) == ("manual", "asleep")
    assert vms(cfg, "risk", "1", "high", "--by", "nurse")["risk"] == "high"
    status = vms(cfg, "status")
    assert [p["name"] for p in status["held"]] == ["Zhang San"]
    # Held for 13 h on a 12 h summons: past the limit.
    types = {a["type"] for a in status["alerts"]}
    assert {"legal_clock_limit", "recording_incomplete"} <= types
    alert = next(a for a in status["alerts"] if a["type"] == "legal_clock_limit")
    # The entry was back-dated: vms raised the alert just now, so it starts at level 1 (its
    # situation began an hour ago, which the alert says), not at once at level 3.
    assert alert["level"] == 1
    assert alert["raised_at"] < alert["opened_at"]
    acked = vms(cfg, "ack", str(alert["id"]), "--by", "duty", "--note", "release ordered")
    assert (acked["acknowledged_by"], acked["ack_note"]) == ("duty", "release ordered")
    out = vms(cfg, "exit", "1", "--by", "desk")
    assert out["exited_at"] is not None
    assert vms(cfg, "status")["held"] == []
    report = vms(cfg, "interview", str(iv["id"]), "--report")
    assert report["continuous"] is False
    assert report["cameras"] == []
    assert set(vms(cfg, "run-checks")) == {"at", "raised", "cleared", "escalated", "video_checks"}


def test_bad_input_is_an_error_not_a_traceback(cfg: Path) -> None:
    with pytest.raises(NotFoundError, match="no person 7"):
        vms(cfg, "move", "7", "--room", "cell-1", "--by", "li")
    res = CliRunner().invoke(
        app,
        ["custody", "interview-start", "1", "--officer", "nobadge", "--by", "x", "-c", str(cfg)],
    )
    assert res.exit_code == 2
    assert "NAME:BADGE" in res.output
    proc = subprocess.run(
        [sys.executable, "-m", "vms.cli", "custody", "exit", "3", "--by", "x", "-c", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "error: no person 3 in the custody ledger" in proc.stderr
    assert "Traceback" not in proc.stderr
