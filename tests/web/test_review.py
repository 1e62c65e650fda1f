"""The review page and a case's clips played from their own files (hash-checked, audited)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import Users, login, record_file
from vms.config import Config
from vms.db.models import Segment
from vms.db.session import Database
from vms.evidence.audit import list_entries


def test_a_cases_clip_plays_from_its_own_file(
    client: TestClient, web_db: Database, web_config: Config, users: Users
) -> None:
    record_file(web_db, web_config, "street-1")
    record_file(web_db, web_config, "interview-1")
    with web_db.session() as s:
        street = s.scalars(select(Segment).where(Segment.camera_id == "street-1")).all()[2]
        room = s.scalars(select(Segment).where(Segment.camera_id == "interview-1")).all()[2]
        spans = [(x.start.isoformat(), x.end.isoformat()) for x in (street, room) if x.end]
    login(client, "investigator")
    case_id = client.post("/api/cases", json={"number": "2026-0200", "title": "t"}).json()["id"]
    clip = client.post(
        f"/api/cases/{case_id}/clips",
        json={"camera_id": "street-1", "start": spans[0][0], "end": spans[0][1]},
    ).json()
    play = client.post(f"/api/cases/{case_id}/items/{clip['id']}/play", json={})
    assert play.status_code == 200, play.text
    out = play.json()
    assert (out["item_id"], out["sha256"]) == (clip["id"], clip["sha256"])
    part = client.get(out["url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert len(part.content) == 100
    # The grant is for this clip: no other file with it, and no segment grant opens a clip.
    grant = out["url"].split("grant=")[1]
    assert (
        client.get(f"/api/recordings/segments/{clip['id']}/video?grant={grant}").status_code == 403
    )
    grants = client.app.state.web.grants  # type: ignore[attr-defined]
    segment_grant = grants.sign(users.ids["investigator"], clip["id"])  # same ids, other kind
    wrong = client.get(f"/api/cases/{case_id}/items/{clip['id']}/video?grant={segment_grant}")
    assert wrong.status_code == 403
    views = [e for e in list_entries(web_db, object_type="item") if e.action == "view"]
    assert [(e.actor, e.object_id) for e in views] == [("investigator", str(clip["id"]))]
    assert json.loads(views[0].details)["sha256"] == clip["sha256"]
    # A custody room's clip plays with a reason only; an altered file not at all.
    custody = client.post(
        f"/api/cases/{case_id}/clips",
        json={"camera_id": "interview-1", "start": spans[1][0], "end": spans[1][1], "reason": "r"},
    ).json()
    assert (
        client.post(f"/api/cases/{case_id}/items/{custody['id']}/play", json={}).status_code == 428
    )
    ok = client.post(f"/api/cases/{case_id}/items/{custody['id']}/play", json={"reason": "review"})
    assert ok.status_code == 200
    path = web_config.storage.root / _item_path(web_db, custody["id"])
    path.write_bytes(path.read_bytes()[:-10])
    broken = client.post(
        f"/api/cases/{case_id}/items/{custody['id']}/play", json={"reason": "review"}
    )
    assert broken.status_code >= 400
    assert "altered" in broken.json()["message"]
    assert client.post(f"/api/cases/999/items/{clip['id']}/play", json={}).status_code == 404


def _item_path(db: Database, item_id: int) -> Path:
    from vms.evidence.models import EvidenceItem

    with db.session() as s:
        item = s.get(EvidenceItem, item_id)
        assert item is not None
        assert item.path is not None
        return Path(item.path)


def test_the_review_page_offers_each_group_of_cameras(client: TestClient) -> None:
    login(client, "investigator")
    page = client.get("/playback", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert 'data-group="custody:Test custody area"' in page.text
    assert 'value="interview-1" data-custody="yes"' in page.text
    for speed in ("0.5", "1", "2", "4", "8"):
        assert f'<option value="{speed}"' in page.text
    assert client.get("/playback?camera=street-1&camera=nope").status_code == 404
    login(client, "scoped")  # a supervisor: no playback at all
    assert client.get("/playback").status_code == 403
