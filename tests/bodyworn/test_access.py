"""Approval to view or copy: own files need none; others need a supervisor's time-limited
approval; every request, decision, access and refusal is in the audit chain."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.bodyworn.conftest import SUPERVISOR, Bw, Media
from tests.web.conftest import PASSWORD
from vms.bodyworn.access import Who, authorize, decide, list_approvals, request_approval, revoke
from vms.bodyworn.copies import copy_out
from vms.bodyworn.officers import update_officer
from vms.errors import ConflictError, PermissionDeniedError, ReasonRequiredError
from vms.evidence.audit import Actor, list_entries, verify_chain
from vms.web.users import create_user

INVESTIGATOR = Who("zhao.inv", None, "investigator")
ASK = Actor("zhao.inv", "identify the suspect in the 30 November incident")
BOSS = Actor("chen.sup", "approved for case 2026-88")


def _grant(bw: Bw, file_id: int, action: str = "view", hours: float = 2) -> int:
    req = request_approval(bw.db, bw.clock, ASK, file_id, action, hours=hours, max_hours=168)
    return decide(bw.db, bw.clock, BOSS, req.id, grant=True, max_hours=168).id


def test_without_approval_denied_and_audited_with_approval_allowed(
    bw: Bw, media: Media, tmp_path: Path
) -> None:
    file_id = bw.ingest(media.mp4).file_id
    with pytest.raises(PermissionDeniedError, match="needs an approval"):
        authorize(bw.db, bw.clock, INVESTIGATOR, file_id, "view")
    [denied] = list_entries(bw.db, action="deny")
    assert (denied.actor, denied.object_type, denied.object_id) == (
        "zhao.inv", "bodyworn", str(file_id),
    )  # fmt: skip
    approval = _grant(bw, file_id, "view")
    access = authorize(bw.db, bw.clock, INVESTIGATOR, file_id, "view")
    assert (access.own, access.approval_id) == (False, approval)
    # A view approval is not a copy approval.
    with pytest.raises(PermissionDeniedError):
        copy_out(bw.db, bw.config, bw.clock, INVESTIGATOR, file_id, tmp_path / "out", "court")
    copy_approval = _grant(bw, file_id, "copy")
    copied = copy_out(
        bw.db, bw.config, bw.clock, INVESTIGATOR, file_id, tmp_path / "out", "for the court"
    )
    assert hashlib.sha256(copied.path.read_bytes()).hexdigest() == media.mp4.sha256
    [export] = list_entries(bw.db, action="export")
    assert export.actor == "zhao.inv"
    assert f'"approval":{copy_approval}' in export.details
    assert export.reason == "for the court"
    actions = [e.action for e in list_entries(bw.db, object_type="bw_approval")]
    assert actions == ["request", "approve", "request", "approve"]
    # Time-limited: two hours later the approvals have run out.
    bw.clock.advance(hours=2, seconds=1)
    with pytest.raises(PermissionDeniedError):
        authorize(bw.db, bw.clock, INVESTIGATOR, file_id, "view")
    statuses = {a.id: a.status for a in list_approvals(bw.db, bw.clock.now())}
    assert statuses == {approval: "expired", copy_approval: "expired"}
    assert len(list_entries(bw.db, action="deny")) == 3
    assert verify_chain(bw.db).ok


def test_an_officer_sees_their_own_files(bw: Bw, media: Media) -> None:
    with bw.db.session() as s:
        create_user(s, "li.wei", PASSWORD, "officer")
    update_officer(bw.db, bw.clock, SUPERVISOR, "031245", username="li.wei")
    from vms.bodyworn.access import who_by_name

    li = who_by_name(bw.db, "li.wei")
    own = bw.ingest(media.mp4).file_id  # DSJ-A1: Li Wei's recorder
    other = bw.ingest(media.mov).file_id  # DSJ-B2: Wang Fang's
    assert authorize(bw.db, bw.clock, li, own, "copy").own
    with pytest.raises(PermissionDeniedError):
        authorize(bw.db, bw.clock, li, other, "view")


def test_approval_rules(bw: Bw, media: Media) -> None:
    file_id = bw.ingest(media.mp4).file_id
    with pytest.raises(ReasonRequiredError):
        request_approval(
            bw.db, bw.clock, Actor("zhao.inv", ""), file_id, "view", hours=1, max_hours=168
        )
    req = request_approval(bw.db, bw.clock, BOSS, file_id, "view", hours=1, max_hours=168)
    with pytest.raises(PermissionDeniedError, match="own request"):
        decide(bw.db, bw.clock, BOSS, req.id, grant=True, max_hours=168)
    refused = decide(bw.db, bw.clock, Actor("wang.sup", "no case number"), req.id, grant=False,
                     max_hours=168)  # fmt: skip
    assert refused.status == "refused"
    with pytest.raises(ConflictError):
        decide(bw.db, bw.clock, Actor("wang.sup", "changed my mind"), req.id, grant=True,
               max_hours=168)  # fmt: skip
    granted = _grant(bw, file_id)
    revoke(bw.db, bw.clock, Actor("chen.sup", "case closed"), granted)
    with pytest.raises(PermissionDeniedError):
        authorize(bw.db, bw.clock, INVESTIGATOR, file_id, "view")
