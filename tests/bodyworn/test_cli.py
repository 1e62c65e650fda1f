"""vms officers / devices / bodyworn as a user runs them: import with --officer (duplicate and
hostile files included), search, approval-gated copy, docks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.bodyworn.conftest import Media
from tests.conftest import shared_file
from vms.cli import app
from vms.db.session import Database
from vms.errors import PermissionDeniedError
from vms.evidence.audit import list_entries
from vms.web.users import create_api_token, create_user

TOKENS: dict[str, str] = {}  # vms user -> API token ($VMS_TOKEN: how the CLI knows who runs it)


def _run(cfg: Path, *args: str, user: str | None = None) -> Any:
    env = {"VMS_TOKEN": TOKENS[user]} if user else {"VMS_TOKEN": ""}
    return CliRunner().invoke(app, [*args, "--config", str(cfg)], env=env)


def _json(cfg: Path, *args: str, user: str | None = None) -> Any:
    result = _run(cfg, *args, "--json", user=user)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def _users(db_url: str) -> None:
    """An investigator and a supervisor with API tokens."""
    db = Database(db_url)
    try:
        with db.session() as s:
            for name, role in (("zhao.inv", "investigator"), ("wang.sup", "supervisor")):
                user = create_user(s, name, "correct horse battery", role)
                TOKENS[name], _ = create_api_token(s, user, "cli test")
    finally:
        db.dispose()


def test_import_search_and_copy_from_the_command_line(
    db_url: str, media: Media, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    dock = tmp_path / "dock"
    dock.mkdir()
    cfg = tmp_path / "vms.yaml"
    cfg.write_text(
        f"storage: {{root: {root}}}\n"
        f"database: {{url: '{db_url}'}}\n"
        f"bodyworn: {{docks: [{{id: station-1, path: {dock}}}], settle_s: 0}}\n"
    )
    for args in (
        ["officers", "add", "031245", "--name", "Li Wei", "--unit", "Patrol 1"],
        ["devices", "add", "DSJ-A1", "--model", "DSJ-V9"],
        ["devices", "assign", "DSJ-A1", "031245", "--from", "2026-11-01T00:00:00Z"],
    ):
        res = _run(cfg, *args)
        assert res.exit_code == 0, (res.output, res.exception)
    _users(db_url)
    duplicate = tmp_path / "again.mp4"
    shutil.copyfile(media.mp4.path, duplicate)
    hostile = shared_file("hostile/crashes-opencv-48x48.avi")
    args = ["bodyworn", "import", str(media.mp4.path), str(duplicate), str(hostile),
            "--officer", "031245", "--config", str(cfg), "--json"]  # fmt: skip
    if db_url.startswith("sqlite"):
        # The real command in its own process (once): a rejection is exit code 1.
        proc = subprocess.run(
            [sys.executable, "-m", "vms.cli", *args], capture_output=True, text=True,
            timeout=300, check=False, env=dict(os.environ, VMS_TOKEN=""),
        )  # fmt: skip
        code, stdout = proc.returncode, proc.stdout
    else:
        res = CliRunner().invoke(app, args, env={"VMS_TOKEN": ""})
        code, stdout = res.exit_code, res.stdout
    assert code == 1, stdout
    results = json.loads(stdout)
    assert [r["result"] for r in results] == ["stored", "duplicate", "rejected"]
    file_id = results[0]["file_id"]
    found = _json(cfg, "bodyworn", "list", "--officer", "031245", "--near", "31.2305,121.4738,200")
    assert [(f["id"], f["officer_source"], f["device"]) for f in found] == [
        (file_id, "declared", "DSJ-A1")
    ]
    out = tmp_path / "out"
    denied = _run(cfg, "bodyworn", "copy", str(file_id), "--to", str(out), "--reason", "court",
                  user="zhao.inv")  # fmt: skip
    assert isinstance(denied.exception, PermissionDeniedError)
    asked = _json(cfg, "bodyworn", "request", str(file_id), "--action", "copy", "--reason",
                  "case 2026-88", user="zhao.inv")  # fmt: skip
    res = _run(cfg, "bodyworn", "approve", str(asked["id"]), "--reason", "ok for 2026-88",
               user="wang.sup")  # fmt: skip
    assert res.exit_code == 0, res.output
    res = _run(cfg, "bodyworn", "copy", str(file_id), "--to", str(out), "--reason", "court",
               user="zhao.inv")  # fmt: skip
    assert res.exit_code == 0, (res.output, res.exception)
    [copied] = out.iterdir()
    assert copied.read_bytes() == media.mp4.path.read_bytes()
    db = Database(db_url)
    try:
        mine = [(e.actor, e.action) for e in list_entries(db, object_type="bodyworn")]
    finally:
        db.dispose()
    assert ("zhao.inv", "deny") in mine
    assert ("zhao.inv", "export") in mine
    # The dock: one scan from the command line.
    shutil.copyfile(media.mov.path, dock / media.mov.path.name)
    rows = _json(cfg, "bodyworn", "docks", "--scan")
    assert [(r["dock"], r["status"]) for r in rows] == [("station-1", "stored")]
