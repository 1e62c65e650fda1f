"""Export packages cannot push footage out: quota, 507 before the high-water mark, expiry."""

from __future__ import annotations

import json
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import shared_file
from tests.evidence.conftest import ALICE, EXPORTER, T0, make_config
from tests.support.clock import FakeClock
from vms.bootstrap import sync_cameras
from vms.config import Config
from vms.db.models import Event
from vms.db.session import Database
from vms.errors import InsufficientStorageError
from vms.evidence import audit, cases, exports, holds, items
from vms.evidence.export import export_case
from vms.evidence.retention import run_retention
from vms.evidence.usage import disk_probe


def _case_with_snapshot(db: Database, config: Config, clock: FakeClock, number: str) -> None:
    snapshot = config.storage.root / "snapshots" / f"{number}.jpg"
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared_file("footage/avenue-frames/avenue_train10_0001.jpg"), snapshot)
    with db.session() as s:
        event = Event(type="loitering", camera_id="street-1", start=T0, severity="warning",
                      data={"snapshot": f"snapshots/{number}.jpg"})  # fmt: skip
        s.add(event)
        s.flush()
        event_id = event.id
    cases.create_case(db, clock, ALICE, number, "title")
    items.add_event(db, config, clock, ALICE, number, event_id)


def _store(db: Database, tmp_path: Path, **evidence: object) -> Config:
    config = make_config(tmp_path / "store", **evidence)
    config.recordings_dir.mkdir(parents=True, exist_ok=True)
    sync_cameras(db, config)
    return config


def test_packages_count_against_the_quota_and_an_export_past_the_mark_is_refused(
    db: Database, tmp_path: Path
) -> None:
    clock = FakeClock(T0 + timedelta(hours=1))
    config = _store(db, tmp_path, quota_bytes=10_000_000, high_water_percent=90)
    _case_with_snapshot(db, config, clock, "2026-1")
    before = disk_probe(config, db)()
    export_case(db, config, clock, EXPORTER, "2026-1", exports.exports_root(config) / "a" / "p")
    after = disk_probe(config, db)()
    kept = exports.exports_bytes(config)
    assert kept > 0
    assert after.used == before.used + kept  # a package takes quota like footage

    # A quota so tight that one more package would pass the 90 % mark: refused, nothing made.
    tight = _store(
        db, tmp_path, quota_bytes=int((after.used + kept / 2) / 0.9), high_water_percent=90
    )
    out = exports.exports_root(tight) / "b" / "p"
    with pytest.raises(InsufficientStorageError, match="high-water mark") as refused:
        export_case(db, tight, clock, EXPORTER, "2026-1", out)
    assert "retention deletes unheld footage" in str(refused.value)
    assert not out.parent.exists()
    assert len(audit.list_entries(db, action="export")) == 1

    # The exports' own quota.
    capped = _store(db, tmp_path, exports_quota_bytes=kept + 100)
    with pytest.raises(InsufficientStorageError, match="exports_quota_bytes"):
        export_case(db, capped, clock, EXPORTER, "2026-1", exports.exports_root(capped) / "c")
    # A package written elsewhere (another disk, a USB drive) is not weighed against it.
    elsewhere = Path("/dev/shm") / f"vms-test-{tmp_path.name}"
    assert os.stat("/dev/shm").st_dev != os.stat(tmp_path).st_dev, "needs /dev/shm apart"
    try:
        export_case(db, capped, clock, EXPORTER, "2026-1", elsewhere)
        assert (elsewhere / "manifest.json").is_file()
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)


def test_old_packages_expire_unless_an_open_case_or_a_hold_needs_them(
    db: Database, tmp_path: Path
) -> None:
    clock = FakeClock(T0)
    config = _store(db, tmp_path, export_retention_days=30)
    for number in ("2026-open", "2026-held", "2026-done"):
        _case_with_snapshot(db, config, clock, number)
    # The snapshot items are held; release those holds, then hold one case by its number.
    for h in holds.list_holds(db, clock.now()):
        holds.release_hold(db, clock, ALICE, h.id)
    holds.place_range_hold(db, clock, ALICE, "street-1", T0, T0 + timedelta(hours=1),
                           case_number="2026-held")  # fmt: skip
    for number in ("2026-held", "2026-done"):
        cases.set_status(db, clock, ALICE, number, cases.CLOSED)
    made: dict[str, Path] = {}
    for number in ("2026-open", "2026-held", "2026-done"):
        out = exports.exports_root(config) / number / f"{number}-{T0:%Y%m%dT%H%M%S%fZ}"
        export_case(db, config, clock, EXPORTER, number, out)
        made[number] = exports.zip_package(out)
        shutil.rmtree(out)
    young = exports.exports_root(config) / "2026-done" / "2026-done-20260320T000000000000Z.zip"
    young.write_bytes(made["2026-done"].read_bytes())

    clock.advance(days=29)
    assert exports.expire_packages(db, config, clock) == []
    clock.advance(days=2)
    report = run_retention(db, config, clock)
    assert [Path(e["path"]).name for e in report.exports] == [made["2026-done"].name]
    assert not made["2026-done"].exists()
    assert made["2026-open"].exists()
    assert made["2026-held"].exists()
    assert young.exists()
    (entry,) = audit.list_entries(db, object_type="export")
    assert (entry.action, entry.actor, entry.case_number) == (
        "delete",
        "vms-retention",
        "2026-done",
    )
    assert json.loads(entry.details)["bytes"] > 0
