"""Retention categories with holds: under a small quota the evidence category and unexpired
files stay, only expired default files (and fixed-camera footage) go; categories are set with
a reason and audited; linking to a case makes a file evidence and holds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.bodyworn.conftest import T_REC, Bw, Media
from tests.evidence.conftest import record_segments
from vms.bodyworn.files import FileQuery, get_file, search_files
from vms.bodyworn.links import case_links, link_case
from vms.bodyworn.models import BodywornFile
from vms.bodyworn.retention import set_category
from vms.db.models import Segment
from vms.errors import ConflictError, ReasonRequiredError
from vms.evidence.audit import Actor, list_entries, verify_chain
from vms.evidence.cases import create_case
from vms.evidence.holds import list_holds, place_range_hold
from vms.evidence.retention import run_retention

INVESTIGATOR = Actor("zhao.inv", "case 2026-88: assault on an officer")


def test_under_a_small_quota_evidence_stays_and_only_expired_defaults_go(
    bw: Bw, media: Media
) -> None:
    old_default = bw.ingest(media.mp4).file_id  # recorded T_REC, default
    evidence = bw.ingest(media.mov).file_id  # recorded T_REC, linked to a case below
    held = bw.ingest(media.mp4_later).file_id  # recorded T_REC + 10 min, under a range hold
    create_case(bw.db, bw.clock, INVESTIGATOR, "2026-88", "Assault on an officer")
    link_case(bw.db, bw.clock, INVESTIGATOR, evidence, "2026-88")
    f_held = get_file(bw.db, held)
    place_range_hold(bw.db, bw.clock, INVESTIGATOR, f_held.camera_id, f_held.start, f_held.end)
    # 100 days on, a fresh default file: not expired when the others are.
    bw.clock.set(T_REC + timedelta(days=100))
    fresh = bw.ingest(media.hevc, device_serial="DSJ-B2").file_id
    # Fixed-camera footage, and a quota below what is stored.
    camera, _ = record_segments(bw.db, bw.config.storage.root, "street-1", count=3)
    with bw.db.session() as s:
        stored = sum(s.scalars(select(Segment.bytes)))
    config = bw.config.model_copy(
        update={"evidence": bw.config.evidence.model_copy(update={"quota_bytes": stored // 2})}
    )
    bw.clock.set(T_REC + timedelta(days=184))  # past the 183 days of the default category
    report = run_retention(bw.db, config, bw.clock)
    deleted_bw = [d["file_id"] for d in report.bodyworn["deleted"]]
    assert deleted_bw == [old_default]
    assert [k["file_id"] for k in report.bodyworn["kept_held"]] == [held]
    # Disk pressure took fixed-camera footage, never a body-worn file before its time.
    assert {d.segment_id for d in report.deleted} == {c.id for c in camera}
    with bw.db.session() as s:
        status = dict(s.execute(select(BodywornFile.id, BodywornFile.status)).all())
    assert status == {
        old_default: "deleted", evidence: "active", held: "active", fresh: "active",
    }  # fmt: skip
    root = bw.config.storage.root
    with bw.db.session() as s:
        paths = dict(s.execute(select(BodywornFile.id, BodywornFile.path)).all())
    assert not (root / paths[old_default]).exists()
    assert all((root / paths[i]).is_file() for i in (evidence, held, fresh))
    [entry] = list_entries(bw.db, object_type="bodyworn", action="delete")
    assert (entry.object_id, entry.actor) == (str(old_default), "vms-retention")
    assert [f.id for f in search_files(bw.db, FileQuery())] == [evidence, held, fresh]
    assert verify_chain(bw.db).ok


def test_linking_to_a_case_makes_a_file_evidence_and_holds_it(bw: Bw, media: Media) -> None:
    file_id = bw.ingest(media.mp4).file_id
    f = get_file(bw.db, file_id)
    create_case(bw.db, bw.clock, INVESTIGATOR, "2026-90", "Robbery")
    start, end = f.start + timedelta(seconds=1), f.start + timedelta(seconds=3)
    link = link_case(bw.db, bw.clock, INVESTIGATOR, file_id, "2026-90", start=start, end=end)
    assert (link.start, link.end, link.case_number) == (start, end, "2026-90")
    g = get_file(bw.db, file_id)
    assert (g.category, g.category_by, g.cases) == ("evidence", "zhao.inv", ["2026-90"])
    [hold] = list_holds(bw.db, bw.clock.now(), case_number="2026-90")
    assert (hold.camera_id, hold.start, hold.end) == (f.camera_id, start, end)
    assert [c.case_number for c in case_links(bw.db, file_id)] == ["2026-90"]
    assert search_files(bw.db, FileQuery(case_number="2026-90"))[0].id == file_id
    with pytest.raises(ConflictError, match="2026-90"):
        set_category(bw.db, bw.clock, INVESTIGATOR, file_id, "default")


def test_categories_are_set_with_a_reason_and_audited(bw: Bw, media: Media) -> None:
    file_id = bw.ingest(media.mp4).file_id
    officer = Actor("li.wei", "the suspect pushed me at the scene")
    assert set_category(bw.db, bw.clock, officer, file_id, "obstruction") == "default"
    f = get_file(bw.db, file_id)
    assert (f.category, f.category_reason) == ("obstruction", "the suspect pushed me at the scene")
    with pytest.raises(ReasonRequiredError):
        set_category(bw.db, bw.clock, Actor("li.wei", " "), file_id, "default")
    updates = list_entries(bw.db, object_type="bodyworn", action="update")
    assert [e.actor for e in updates] == ["li.wei"]
    assert '"category":"obstruction"' in updates[0].details
    # Permanent: even years later, retention keeps it.
    bw.clock.set(datetime(2036, 1, 1, tzinfo=UTC))
    assert run_retention(bw.db, bw.config, bw.clock).bodyworn["deleted"] == []
    assert get_file(bw.db, file_id).status == "active"
