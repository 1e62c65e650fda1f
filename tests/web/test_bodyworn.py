"""Body-worn footage through the web API: approval-gated viewing and copying (both outcomes
audited), an officer's own files, the shared timeline with cameras, clips exported like camera
clips; on SQLite and PostgreSQL."""

# ruff: noqa: F811 (fixtures imported from other modules are this module's parameters)
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.bodyworn.conftest import T_REC, Media, media  # noqa: F401 (the session fixture)
from tests.web.conftest import Users, login
from vms.bodyworn import officers
from vms.bodyworn.ingest import CLI, Ingestor, Offer
from vms.clock import SystemClock
from vms.config import Config
from vms.db.session import Database
from vms.evidence.audit import Actor, list_entries, verify_chain
from vms.evidence.export import export_case, verify_package
from vms.evidence.signing import PUBLIC_KEY

SET_UP = Actor("wang.sup", "duty roster")


@pytest.fixture
def footage(web_db: Database, web_config: Config, users: Users, media: Media) -> dict[str, int]:
    """Li Wei (user 'officer') holds DSJ-A1, Wang Fang holds DSJ-B2; one file each."""
    clock = SystemClock()
    officers.add_officer(web_db, clock, SET_UP, "031245", "Li Wei", "Patrol 1", username="officer")
    officers.add_officer(web_db, clock, SET_UP, "031877", "Wang Fang", "Patrol 2")
    since = T_REC - timedelta(days=30)
    for serial, badge in (("DSJ-A1", "031245"), ("DSJ-B2", "031877")):
        officers.add_device(web_db, clock, SET_UP, serial)
        officers.assign(web_db, clock, SET_UP, serial, badge, start=since)
    ingestor = Ingestor(web_db, web_config, clock)
    ids = {}
    for name, rec in (("own", media.mp4), ("other", media.mov)):
        result = ingestor.ingest_path(rec.path, Offer(rec.path.name, CLI, SET_UP))
        assert result.file_id is not None, result.reason
        ids[name] = result.file_id
    return ids


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_investigator_without_approval_gets_403_with_approval_the_file_both_audited(
    client: TestClient,
    web_db: Database,
    footage: dict[str, int],
    media: Media,
) -> None:
    file_id = footage["own"]
    login(client, "investigator")
    listed = client.get("/api/bodyworn/files", params={"officer": "031245"}).json()["files"]
    assert [f["id"] for f in listed] == [file_id]  # the record is searchable
    detail = client.get(f"/api/bodyworn/files/{file_id}").json()
    assert detail["access"] == {
        "own": False, "can_view": False, "can_copy": False, "approval_id": None,
        "valid_until": None,
    }  # fmt: skip
    denied = client.get(f"/api/bodyworn/files/{file_id}/download", params={"reason": "court"})
    assert denied.status_code == 403
    assert "needs an approval" in denied.json()["message"]
    assert client.post(f"/api/bodyworn/files/{file_id}/play", json={}).status_code == 403
    deny = list_entries(web_db, action="deny")
    assert [(e.actor, e.object_id) for e in deny] == [("investigator", str(file_id))] * 2
    # Ask, a supervisor grants, the file comes.
    asked = client.post(
        f"/api/bodyworn/files/{file_id}/approvals",
        json={"action": "copy", "reason": "case 2026-88: identify the suspect", "hours": 4},
    )
    assert asked.status_code == 201, asked.text
    approval = asked.json()["id"]
    login(client, "supervisor")
    pending = client.get("/api/bodyworn/approvals", params={"status": "pending"}).json()
    assert [a["id"] for a in pending] == [approval]
    granted = client.post(
        f"/api/bodyworn/approvals/{approval}/decision", json={"grant": True, "reason": "ok"}
    )
    assert granted.json()["status"] == "granted"
    login(client, "investigator")
    got = client.get(f"/api/bodyworn/files/{file_id}/download", params={"reason": "for court"})
    assert got.status_code == 200
    assert _sha(got.content) == media.mp4.sha256
    assert got.headers["x-content-sha256"] == media.mp4.sha256
    play = client.post(f"/api/bodyworn/files/{file_id}/play", json={"reason": "review"}).json()
    part = client.get(play["url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == media.mp4.path.read_bytes()[:100]
    [export] = list_entries(web_db, action="export", object_type="bodyworn")
    assert (export.actor, export.reason) == ("investigator", "for court")
    assert json.loads(export.details)["approval"] == approval
    [view] = list_entries(web_db, action="view", object_type="bodyworn")
    assert view.actor == "investigator"
    decisions = [(e.action, e.actor) for e in list_entries(web_db, object_type="bw_approval")]
    assert decisions == [("request", "investigator"), ("approve", "supervisor")]
    assert verify_chain(web_db).ok


def test_an_officer_sees_only_their_own_files(
    client: TestClient,
    footage: dict[str, int],
    media: Media,
) -> None:
    login(client, "officer")
    out = client.get("/api/bodyworn/files").json()
    assert out["own_only"] is True
    assert [f["id"] for f in out["files"]] == [footage["own"]]
    assert client.get(f"/api/bodyworn/files/{footage['other']}").status_code == 403
    mine = client.get(f"/api/bodyworn/files/{footage['own']}").json()
    assert mine["access"]["own"] is True
    got = client.get(f"/api/bodyworn/files/{footage['own']}/download")
    assert _sha(got.content) == media.mp4.sha256  # no approval for one's own file
    page = client.get("/bodyworn")
    assert page.status_code == 200
    assert "一人一档" in page.text  # zh-CN by default: "the files of your own recorder"


def test_recorders_sit_on_the_playback_timeline_at_their_real_times(
    client: TestClient, footage: dict[str, int]
) -> None:
    login(client, "investigator")
    start, end = T_REC - timedelta(minutes=5), T_REC + timedelta(minutes=5)
    lanes = client.get(
        "/api/bodyworn/timeline", params={"start": start.isoformat(), "end": end.isoformat()}
    ).json()["lanes"]
    assert {lane["camera_id"]: lane["officer"] for lane in lanes} == {
        "bw.DSJ-A1": "031245", "bw.DSJ-B2": "031877",
    }  # fmt: skip
    a1 = next(lane for lane in lanes if lane["device"] == "DSJ-A1")
    [f] = a1["files"]
    assert datetime.fromisoformat(f["start"]) == T_REC
    assert f["access"] == "approval"
    # The same recorder through the camera timeline API: one segment per file.
    day = client.get("/api/recordings/bw.DSJ-A1/timeline", params={"day": "2026-11-30"}).json()
    assert (day["bodyworn"], day["custody"]) == (True, False)
    assert [s["id"] for s in day["segments"]] == [f["segment_id"]]
    assert datetime.fromisoformat(day["segments"][0]["start"]) == T_REC
    # Camera playback of a body-worn segment follows the file's approval rule.
    refused = client.post("/api/playback", json={"segment_id": f["segment_id"]})
    assert refused.status_code == 403
    # Near People's Square (the file's GPS track); nothing 5 km away.
    near = {"lat": 31.2305, "lon": 121.4738, "radius_m": 300}
    found = client.get("/api/bodyworn/files", params=near).json()["files"]
    assert {x["device"] for x in found} == {"DSJ-A1", "DSJ-B2"}
    far = client.get("/api/bodyworn/files", params={**near, "lat": 31.28}).json()["files"]
    assert far == []
    bad = client.get("/api/bodyworn/files", params={"lat": 31.2})
    assert bad.status_code == 400
    assert "radius_m" in bad.json()["message"]


def test_a_clip_cut_from_a_body_worn_file_is_exported_like_a_camera_clip(
    client: TestClient, web_db: Database, web_config: Config, footage: dict[str, int],
    media: Media, tmp_path: Path,
) -> None:  # fmt: skip
    file_id = footage["own"]
    login(client, "investigator")
    assert client.post("/api/cases", json={"number": "2026-88", "title": "Assault"}).is_success
    start, end = T_REC + timedelta(seconds=1), T_REC + timedelta(seconds=4)
    body = {"case_number": "2026-88", "start": start.isoformat(), "end": end.isoformat(),
            "reason": "the assault"}  # fmt: skip
    assert client.post(f"/api/bodyworn/files/{file_id}/clips", json=body).status_code == 403
    approval = client.post(
        f"/api/bodyworn/files/{file_id}/approvals", json={"action": "copy", "reason": "2026-88"}
    ).json()["id"]
    login(client, "supervisor")
    client.post(
        f"/api/bodyworn/approvals/{approval}/decision", json={"grant": True, "reason": "ok"}
    )
    login(client, "investigator")
    made = client.post(f"/api/bodyworn/files/{file_id}/clips", json=body)
    assert made.status_code == 201, made.text
    item = made.json()
    assert item["camera_id"] == "bw.DSJ-A1"
    record = client.get(f"/api/bodyworn/files/{file_id}").json()
    assert record["file"]["category"] == "evidence"
    assert record["file"]["cases"] == ["2026-88"]
    out = tmp_path / "package"
    export_case(web_db, web_config, SystemClock(), Actor("investigator", "court"), "2026-88", out)
    keys = web_config.storage.root / "keys"
    report = verify_package(out, trusted_key=(keys / PUBLIC_KEY).read_bytes())
    assert report.ok, [p.message for p in report.problems]
    manifest = json.loads((out / "manifest.json").read_text())
    [entry] = manifest["items"]
    assert [s["sha256"] for s in entry["source_segments"]] == [media.mp4.sha256]
    assert any(c["id"] == "bw.DSJ-A1" and c["kind"] == "bodyworn" for c in manifest["cameras"])
    assert datetime.fromisoformat(entry["start"]) <= start.astimezone(UTC)
