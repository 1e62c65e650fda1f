"""Commands that only read leave the database as they found it: no migration, no camera row
rewritten, no row added (but the audit entries of what they show), even when the
configuration given lists other cameras than the installation's (an auditor's own file)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, inspect, select, table, text
from typer.testing import CliRunner

from vms.bootstrap import prepare
from vms.cli import app
from vms.clock import SystemClock
from vms.config import Config
from vms.db.migrate import current_revision, head_revisions, upgrade
from vms.db.models import Camera, Event, Gap, Segment
from vms.db.session import Database
from vms.evidence.audit import Actor
from vms.evidence.cases import create_case
from vms.evidence.holds import place_range_hold
from vms.vocab import sha256_file
from vms.web.roles import Role
from vms.web.users import create_user

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CASE = "2026-0042"
INSTALLED = [("street-1", "street"), ("room-1", "custody")]


def _config(root: Path, url: str, cameras: list[tuple[str, str]]) -> dict[str, Any]:
    cams = []
    for cam_id, kind in cameras:
        cam: dict[str, Any] = {
            "id": cam_id,
            "kind": kind,
            "site": "Site",
            "source": "synthetic://a",
        }
        if kind == "custody":
            cam |= {"room": "Interrogation 1", "room_type": "interrogation"}
        cams.append(cam)
    return {"storage": {"root": str(root)}, "database": {"url": url}, "cameras": cams}


def _seed(db: Database, root: Path) -> None:
    """Footage, a gap, an event, a case with a hold, a user: something for every reader."""
    clip = root / "recordings" / "street-1" / "a.mp4"
    clip.parent.mkdir(parents=True, exist_ok=True)
    clip.write_bytes(b"\x00" * 4096)
    digest, size = sha256_file(clip)
    with db.session() as s:
        s.add(
            Segment(
                camera_id="street-1", start=T0, end=T0 + timedelta(seconds=60), duration_s=60.0,
                path="recordings/street-1/a.mp4", bytes=size, sha256=digest, codec="h264",
                status="complete",
            )
        )  # fmt: skip
        s.add(Gap(camera_id="street-1", start=T0 + timedelta(seconds=60), end=None, reason="x"))
        s.add(Event(type="loitering", camera_id="street-1", start=T0, severity="info", data={}))
        create_user(s, "auditor", "correct horse battery", Role.AUDITOR)
    clock, who = SystemClock(), Actor("li", "seed")
    create_case(db, clock, who, CASE, "A theft")
    place_range_hold(db, clock, who, "street-1", T0, T0 + timedelta(seconds=30), case_number=CASE)


def _snapshot(db: Database) -> dict[str, Any]:
    names = sorted(inspect(db.engine).get_table_names())
    with db.engine.connect() as conn:
        counts = {n: conn.scalar(select(func.count()).select_from(table(n))) for n in names}
        cameras = [tuple(r) for r in conn.execute(select(Camera.__table__).order_by(Camera.id))]
        actions = [str(a) for a in conn.scalars(text("SELECT action FROM audit_log ORDER BY seq"))]
    return {
        "revision": current_revision(db.engine),
        "tables": names,
        "counts": counts,
        "cameras": cameras,
        "audit": actions,
    }


READ_ONLY = [
    ["audit", "list", "--json"],
    ["audit", "verify", "--json"],
    ["audit", "head", "--json"],
    ["recordings", "list", "--json"],
    ["verify", "--json"],
    ["events", "search", "--json"],
    ["cases", "list", "--json"],
    ["cases", "show", CASE, "--json"],
    ["evidence", "list", CASE, "--json"],
    ["hold", "list", "--json"],
    ["users", "list", "--json"],
    ["retention", "run", "--dry-run", "--json"],
    ["bodyworn", "list", "--json"],
    ["bodyworn", "approvals", "--json"],
    ["officers", "list", "--json"],
    ["devices", "list", "--json"],
    ["gb28181", "devices", "--json"],
]


def test_read_only_commands_leave_the_database_untouched(db_url: str, tmp_path: Path) -> None:
    root = tmp_path / "store"
    db = prepare(Config.model_validate(_config(root, db_url, INSTALLED)))
    _seed(db, root)
    # The auditor's own configuration: the same database, other cameras.
    other = tmp_path / "auditor.yaml"
    other.write_text(yaml.safe_dump(_config(root, db_url, [("elsewhere-9", "street")])))
    runner = CliRunner()
    before = _snapshot(db)
    assert [c[0] for c in before["cameras"]] == ["room-1", "street-1"]
    for args in [*READ_ONLY, ["briefing", "--date", "2026-03-02", "--out", str(tmp_path / "b")]]:
        res = runner.invoke(app, [*args, "--config", str(other)])
        assert res.exit_code == 0, (args, res.output, res.exception)
        after = _snapshot(db)
        # Only what a command shows is logged (``cases show`` is an audited view).
        new_entries = after["audit"][len(before["audit"]) :]
        assert set(new_entries) <= {"view"}, (args, new_entries)
        counts = dict(after["counts"], audit_log=before["counts"]["audit_log"])
        assert (after["revision"], after["tables"], after["cameras"], counts) == (
            before["revision"],
            before["tables"],
            before["cameras"],
            before["counts"],
        ), args
        before = after
    db.dispose()


def test_a_read_only_command_on_an_older_schema_says_so_and_migrates_nothing(
    db_url: str, tmp_path: Path
) -> None:
    cfg = tmp_path / "vms.yaml"
    cfg.write_text(yaml.safe_dump(_config(tmp_path / "store", db_url, INSTALLED)))
    db = Database(db_url)
    upgrade(db.engine, "0003")
    res = CliRunner().invoke(app, ["audit", "list", "--config", str(cfg)])
    assert res.exit_code == 1
    message = str(res.exception)
    assert "schema revision 0003" in message
    assert "vms db upgrade" in message
    assert ",".join(head_revisions()) in message
    assert current_revision(db.engine) == "0003"
    assert "cameras" not in inspect(db.engine).get_table_names() or not db.engine.connect().scalar(
        select(func.count()).select_from(table("cameras"))
    )
    db.dispose()


@pytest.mark.parametrize("command", [["audit", "list"], ["recordings", "list"]])
def test_no_database_yet_is_an_error_not_a_new_file(command: list[str], tmp_path: Path) -> None:
    cfg = tmp_path / "vms.yaml"
    url = f"sqlite:///{tmp_path / 'store' / 'vms.db'}"
    cfg.write_text(yaml.safe_dump(_config(tmp_path / "store", url, INSTALLED)))
    res = CliRunner().invoke(app, [*command, "--config", str(cfg)])
    assert res.exit_code == 1
    assert "no database at" in str(res.exception)
    assert not (tmp_path / "store").exists()
