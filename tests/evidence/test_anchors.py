"""Anchors of the audit chain outside the database: the tail cannot be cut off unseen."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.evidence.conftest import ALICE, CASE, EXPORTER, T0
from tests.evidence.test_audit import _INSERT, _forged, _hash_of, _history, _tamper
from tests.support.clock import FakeClock
from vms.config import Config
from vms.db.models import Event
from vms.db.session import Database
from vms.evidence import anchors, audit, cases, export, items
from vms.evidence.anchors import AnchorJob


def _cut_tail(db: Database, keep: int) -> None:
    """What an intruder with the database does: delete the newest entries, move the head."""
    _tamper(
        db,
        (f"DELETE FROM audit_log WHERE seq > {keep}", {}),
        ("UPDATE audit_head SET seq = :s, hash = :h", {"s": keep, "h": _hash_of(db, keep)}),
    )


def _verify(db: Database, config: Config, *extra: Path) -> audit.AuditReport:
    found, keys = anchors.installation_anchors(config)
    for path in extra:
        found += anchors.read_anchors(path)
    return anchors.verify_with_anchors(db, found, keys)


def _config_file(db: Database, config: Config, tmp_path: Path) -> Path:
    path = tmp_path / "vms.yaml"
    path.write_text(
        f"storage: {{root: {config.storage.root}}}\n"
        f"database: {{url: '{db.engine.url.render_as_string(hide_password=False)}'}}\n"
        "cameras:\n  - {id: street-1, kind: street, site: s, source: 'synthetic://a'}\n"
    )
    return path


def test_a_cut_off_tail_fails_against_the_checkpoint(
    db: Database, config: Config, clock: FakeClock, tmp_path: Path
) -> None:
    _history(db, clock)
    job = AnchorJob(db, config, clock)
    made = job()
    assert made is not None
    assert (made.seq, made.hash) == audit.chain_head(db) == (6, _hash_of(db, 6))
    assert job() is None  # the head has not moved: no second line
    assert len(anchors.anchors_path(config).read_text().splitlines()) == 1

    _cut_tail(db, keep=4)

    assert audit.verify_chain(db).ok  # the chain alone is consistent: the hole
    report = _verify(db, config)
    assert [(p.seq, p.kind) for p in report.problems] == [(6, "truncated")]
    assert "no longer reaches the head anchored at entry 6" in report.problems[0].message
    assert "it ends at entry 4" in report.problems[0].message

    cfg = _config_file(db, config, tmp_path)
    res = subprocess.run(
        [sys.executable, "-m", "vms.cli", "audit", "verify", "-c", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 1, res.stdout + res.stderr
    assert "TRUNCATED the chain no longer reaches the head anchored at entry 6" in res.stdout
    assert "1 anchor(s) checked" in res.stdout


def test_a_rewritten_chain_fails_against_the_checkpoint(
    db: Database, config: Config, clock: FakeClock
) -> None:
    _history(db, clock)
    anchors.write_checkpoint(db, config, clock)
    # Rebuild the chain from entry 5 on: two forged entries, each hash right, head moved.
    fifth = _forged(db, 5, _hash_of(db, 4))
    sixth = _forged(db, 6, fifth["hash"])
    _tamper(
        db,
        ("DELETE FROM audit_log WHERE seq >= 5", {}),
        (_INSERT, fifth),
        (_INSERT, sixth),
        ("UPDATE audit_head SET hash = :h", {"h": sixth["hash"]}),
    )
    assert audit.verify_chain(db).ok
    report = _verify(db, config)
    assert [(p.seq, p.kind) for p in report.problems] == [(6, "rewritten")]


def test_a_forged_checkpoint_line_is_named(db: Database, config: Config, clock: FakeClock) -> None:
    _history(db, clock, n_cases=1)
    anchors.write_checkpoint(db, config, clock)
    path = anchors.anchors_path(config)
    line = json.loads(path.read_text())
    line["seq"] = 2  # an anchor moved to fit a shorter chain: its signature no longer fits
    path.write_text(json.dumps(line) + "\n")
    report = _verify(db, config)
    assert [(p.kind, p.seq) for p in report.problems] == [("anchor", 2)]
    assert "signature does not match" in report.problems[0].message


def test_every_export_anchors_the_head_in_its_manifest_and_the_file(
    store: Database, config: Config, clock: FakeClock, tmp_path: Path
) -> None:
    db = store
    snapshot = config.storage.root / "snapshots" / "e.jpg"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_bytes(b"\xff\xd8 a snapshot")
    with db.session() as s:
        s.add(Event(type="loitering", camera_id="street-1", start=T0, severity="warning",
                    data={"snapshot": "snapshots/e.jpg"}))  # fmt: skip
    cases.create_case(db, clock, ALICE, CASE, "title")
    with db.session() as s:
        event_id = s.scalars(select(Event.id)).one()
    items.add_event(db, config, clock, ALICE, CASE, event_id)
    before, _ = audit.chain_head(db)  # the case, the item and its holds
    out = tmp_path / "pkg"
    export.export_case(db, config, clock, EXPORTER, CASE, out)
    manifest_head = json.loads((out / "manifest.json").read_bytes())["audit_chain_head"]
    assert manifest_head["seq"] == before
    lines = anchors.read_anchors(anchors.anchors_path(config))
    assert [a.seq for a in lines] == [before + 1]  # with the export's own entry
    archive = Path(shutil.make_archive(str(out), "zip", tmp_path, "pkg"))

    _cut_tail(db, keep=1)
    anchors.anchors_path(config).unlink()  # even with the checkpoint file gone
    assert _verify(db, config).ok
    for anchor in (out, archive, out / "manifest.json"):
        report = _verify(db, config, anchor)
        assert [(p.seq, p.kind) for p in report.problems] == [(before, "truncated")], anchor
    written = tmp_path / "duty-log.txt"
    written.write_text(f"# vms audit head, 2026-03-01\n{before + 1} {lines[0].hash}\n")
    truncated = [(p.seq, p.kind) for p in _verify(db, config, written).problems]
    assert truncated == [(before + 1, "truncated")]


def test_an_unreadable_anchor_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "anchors.txt"
    bad.write_text("yesterday's head\n")
    with pytest.raises(Exception, match="line 1: not an anchor"):
        anchors.read_anchors(bad)
