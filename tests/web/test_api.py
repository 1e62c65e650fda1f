"""The web API on SQLite and PostgreSQL: login, cameras, errors, playback, download, alerts."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import PASSWORD, Users, fake_health, login, record_file
from vms.cameras.index import RecordingIndex
from vms.config import Config
from vms.db.models import Event, Segment
from vms.db.session import Database
from vms.evidence import signing
from vms.evidence.audit import list_entries, verify_chain
from vms.evidence.export import verify_package
from vms.evidence.usage import disk_probe
from vms.web.app import create_app


def test_login_sets_an_http_only_strict_cookie_and_me_answers(client: TestClient) -> None:
    res = client.post("/api/auth/login", json={"username": "supervisor", "password": PASSWORD})
    assert res.status_code == 200
    cookie = res.headers["set-cookie"]
    assert "vms_session=vms_s_" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    me = client.get("/api/auth/me").json()
    assert me["username"] == "supervisor"
    assert "live" in me["permissions"]
    assert "playback" not in me["permissions"]


@pytest.mark.parametrize(
    ("username", "password"),
    [("supervisor", "wrong password!"), ("nobody", PASSWORD), ("supervisor", "")],
)
def test_bad_logins_get_one_message(
    client: TestClient, web_db: Database, username: str, password: str
) -> None:
    res = client.post("/api/auth/login", json={"username": username, "password": password})
    if password:
        assert res.status_code == 401
        assert res.json()["message"].startswith("wrong user name or password")
        # Every refused login is on the record, with where it came from.
        (entry,) = list_entries(web_db, action="login")
        assert (entry.actor, entry.object_type, entry.object_id) == ("anonymous", "user", username)
        details = json.loads(entry.details)
        assert (details["ok"], details["via"], details["address"]) == (False, "web", "testclient")
    else:
        assert res.status_code == 422
        assert "body password" in res.json()["message"]


def test_validation_errors_say_what_was_wrong(client: TestClient) -> None:
    login(client, "admin")
    res = client.post("/api/users", json={"username": "x", "role": "chief", "password": "short"})
    assert res.status_code == 422
    body = res.json()
    assert body["error"] == "RequestValidationError"
    text = " | ".join(body["problems"])
    assert "body username" in text
    assert "at least 2 characters" in text
    assert "body role" in text
    assert "'chief'" in text
    assert "body password" in text


def test_errors_are_json_with_a_message(client: TestClient) -> None:
    assert client.get("/api/cameras").json()["message"].startswith("not logged in")
    login(client, "investigator")
    res = client.get("/api/users")
    assert res.status_code == 403
    assert res.json() == {
        "message": "role 'investigator' may not do this (needs 'manage_users')",
        "error": "PermissionDeniedError",
    }
    res = client.get("/api/nothing-here")
    assert res.status_code == 404
    assert res.json()["message"] == "Not Found"
    res = client.get("/api/recordings/no-such-cam/timeline")
    assert res.status_code == 404
    assert "no camera 'no-such-cam'" in res.json()["message"]


def test_cookie_requests_that_change_things_need_the_same_site_header(client: TestClient) -> None:
    login(client, "admin")
    del client.headers["X-Requested-With"]
    res = client.post("/api/auth/tokens", json={"name": "x"})
    assert res.status_code == 403
    assert "X-Requested-With" in res.json()["message"]


def test_api_tokens_work_until_revoked_and_die_with_their_user(
    client: TestClient, users: Users
) -> None:
    login(client, "investigator")
    made = client.post("/api/auth/tokens", json={"name": "script"})
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith("vms_t_")
    bearer = {"Authorization": f"Bearer {token}"}
    client.cookies.clear()
    assert client.get("/api/auth/me", headers=bearer).json()["username"] == "investigator"
    # A token cannot mint more tokens.
    assert client.post("/api/auth/tokens", json={"name": "y"}, headers=bearer).status_code == 403
    login(client, "admin")
    res = client.patch(f"/api/users/{users.ids['investigator']}", json={"active": False})
    assert res.status_code == 200
    assert res.json()["active"] is False
    client.cookies.clear()
    assert client.get("/api/auth/me", headers=bearer).status_code == 401


def test_logout_ends_the_session(client: TestClient) -> None:
    login(client, "auditor")
    cookie = client.cookies.get("vms_session")
    assert client.post("/api/auth/logout").status_code == 200
    client.cookies.set("vms_session", cookie or "")
    assert client.get("/api/auth/me").status_code == 401


def test_cameras_show_health_within_the_users_scope(client: TestClient) -> None:
    login(client, "admin")
    cams = {c["id"]: c for c in client.get("/api/cameras").json()}
    assert cams["street-1"]["online"] is True
    assert cams["street-1"]["fps"] == 10.0
    assert cams["street-1"]["bitrate_bps"] == 512000
    assert cams["interview-1"]["online"] is False
    assert cams["interview-1"]["last_error"] == "connection refused"
    login(client, "scoped")
    assert [c["id"] for c in client.get("/api/cameras").json()] == ["street-1"]
    assert client.get("/api/cameras/interview-1").status_code == 403


@pytest.fixture
def recorded(web_db: Database, web_config: Config) -> Database:
    record_file(web_db, web_config, "street-1")
    record_file(web_db, web_config, "interview-1")
    return web_db


def _segments(db: Database, camera_id: str) -> list[Segment]:
    with db.session() as s:
        return list(
            s.scalars(select(Segment).where(Segment.camera_id == camera_id).order_by(Segment.start))
        )


def test_timeline_playback_with_range_requests_and_audit(
    client: TestClient, recorded: Database
) -> None:
    segs = _segments(recorded, "street-1")
    assert len(segs) > 10
    assert all(s.status == "complete" for s in segs)
    login(client, "investigator")
    texts = client.app.state.web.config.texts()  # type: ignore[attr-defined]
    first_day = texts.local(segs[0].start).date()  # the site's local day, not UTC's
    tl = client.get(f"/api/recordings/street-1/timeline?day={first_day.isoformat()}").json()
    assert tl["custody"] is False
    assert [s["id"] for s in tl["segments"]] == [
        s.id for s in segs if texts.local(s.start).date() == first_day
    ]
    # Without a grant the file is not served; with one, ranges work.
    video = f"/api/recordings/segments/{segs[1].id}/video"
    assert client.get(video).status_code == 403
    play = client.post("/api/playback", json={"segment_id": segs[1].id})
    assert play.status_code == 200
    url = play.json()["url"]
    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/mp4"
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    # Another user cannot use the grant.
    login(client, "auditor")
    assert client.get(url).status_code == 403
    entries = list_entries(recorded, object_type="segment")
    assert [(e.actor, e.action, e.object_id) for e in entries] == [
        ("investigator", "view", str(segs[1].id))
    ]
    assert json.loads(entries[0].details)["what"] == "playback"
    assert verify_chain(recorded).ok


def test_custody_footage_needs_a_reason_to_play_or_download(
    client: TestClient, recorded: Database
) -> None:
    seg = _segments(recorded, "interview-1")[0]
    login(client, "auditor")
    res = client.post("/api/playback", json={"segment_id": seg.id})
    assert res.status_code == 428
    assert "custody room" in res.json()["message"]
    res = client.post("/api/playback", json={"segment_id": seg.id, "reason": "   "})
    assert res.status_code == 428
    assert client.get(f"/api/recordings/segments/{seg.id}/download").status_code == 428
    ok = client.post("/api/playback", json={"segment_id": seg.id, "reason": "interview review"})
    assert ok.status_code == 200
    dl = client.get(f"/api/recordings/segments/{seg.id}/download?reason=case 42 disclosure")
    assert dl.status_code == 200
    assert "attachment" in dl.headers["content-disposition"]
    assert dl.headers["x-content-sha256"] == seg.sha256
    entries = [(e.actor, e.action, e.reason) for e in list_entries(recorded)]
    assert entries == [
        ("auditor", "view", "interview review"),
        ("auditor", "export", "case 42 disclosure"),
    ]


def test_alert_feed_streams_new_events_and_acks(
    client: TestClient, web_db: Database, web_config: Config
) -> None:
    login(client, "supervisor")
    first = client.get("/api/alerts").json()
    index = RecordingIndex(web_db, web_config.storage.root)
    start = datetime.now(UTC) - timedelta(seconds=1)
    index.outage_started("street-1", start, "camera offline: test", offline_event=True)
    index.flush()
    index.close()
    after = first["last_id"]
    seen: list[dict[str, object]] = []
    with client.stream("GET", f"/api/alerts/stream?after={after}") as res:
        assert res.headers["content-type"].startswith("text/event-stream")
        for line in res.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
                break
    alert = seen[0]
    assert alert["type"] == "camera_offline"
    assert alert["camera_id"] == "street-1"
    assert alert["severity"] == "critical"
    ack = client.post(f"/api/alerts/{alert['id']}/ack", json={"note": "patrol sent"})
    assert ack.status_code == 201
    assert ack.json()["username"] == "supervisor"
    acks = client.get(f"/api/alerts/{alert['id']}/acks").json()
    assert [(a["username"], a["note"]) for a in acks] == [("supervisor", "patrol sent")]
    listed = client.get("/api/alerts").json()["alerts"]
    assert listed[0]["id"] == alert["id"]
    assert listed[0]["acked"] is True


def test_cases_clips_and_exports_ask_a_reason_for_custody_footage(
    client: TestClient, recorded: Database, web_config: Config, tmp_path: Path
) -> None:
    seg = _segments(recorded, "interview-1")[1]
    assert seg.end is not None
    login(client, "investigator")
    made = client.post("/api/cases", json={"number": "2026-0142", "title": "Assault, cell 3"})
    assert made.status_code == 201
    case_id = made.json()["id"]
    clip = {"camera_id": "interview-1", "start": seg.start.isoformat(), "end": seg.end.isoformat()}
    res = client.post(f"/api/cases/{case_id}/clips", json=clip)
    assert res.status_code == 428
    res = client.post(f"/api/cases/{case_id}/clips", json={**clip, "reason": "use of force"})
    assert res.status_code == 201, res.text
    item = res.json()
    assert item["camera_id"] == "interview-1"
    assert len(item["sha256"]) == 64
    res = client.post(f"/api/cases/{case_id}/exports", json={})
    assert res.status_code == 428
    assert "custody-room footage" in res.json()["message"]
    res = client.post(f"/api/cases/{case_id}/exports", json={"reason": "to the prosecutor"})
    assert res.status_code == 201, res.text
    # The download is an export of custody footage too: a reason, and an entry of its own.
    refused = client.get(res.json()["url"])
    assert refused.status_code == 428
    assert "give a reason to download it" in refused.json()["message"]
    package = client.get(res.json()["url"], params={"reason": "copy for the prosecutor"})
    assert package.status_code == 200
    assert package.headers["content-type"] == "application/zip"
    zipped = tmp_path / "case.zip"
    zipped.write_bytes(package.content)
    with zipfile.ZipFile(zipped) as z:
        names = z.namelist()
        z.extractall(tmp_path / "out")
    assert any(n.endswith("manifest.json") for n in names)
    assert any(n.endswith(".mp4") for n in names)
    installation = (signing.keys_dir(web_config) / signing.PUBLIC_KEY).read_bytes()
    report = verify_package(zipped, installation)  # the download, as it came
    assert report.ok, report
    detail = client.get(f"/api/cases/{case_id}").json()
    assert [i["id"] for i in detail["items"]] == [item["id"]]
    assert detail["exports"] == [res.json()["name"]]
    kept = web_config.storage.root / "exports" / "2026-0142"
    assert [p.name for p in kept.iterdir()] == [res.json()["name"]]  # the zip, no folder

    # No room for a second package below the high-water mark: 507, and nothing written.
    def quota(n: int) -> Config:
        evidence = web_config.evidence.model_copy(update={"quota_bytes": n})
        return web_config.model_copy(update={"evidence": evidence})

    tight = quota(disk_probe(quota(1 << 50), recorded)().used + 1)  # footage, evidence, zip
    with TestClient(create_app(tight, recorded, fake_health), base_url="http://127.0.0.1") as c:
        login(c, "investigator")
        full = c.post(f"/api/cases/{case_id}/exports", json={"reason": "a second copy"})
    assert full.status_code == 507, full.text
    assert "high-water mark" in full.json()["message"]
    assert [p.name for p in kept.iterdir()] == [res.json()["name"]]
    exports = list_entries(recorded, action="export")
    assert [(e.actor, e.object_type, e.reason) for e in exports] == [
        ("investigator", "case", "to the prosecutor"),
        ("investigator", "case", "copy for the prosecutor"),
    ]
    download = json.loads(exports[1].details)
    assert (download["what"], download["package"]) == ("download", res.json()["name"])
    assert download["manifest_sha256"] == res.json()["manifest_sha256"]
    assert exports[1].case_number == "2026-0142"
    # A supervisor may not open the case or its export.
    login(client, "supervisor")
    assert client.get(res.json()["url"]).status_code == 403
    assert client.get(f"/api/cases/{case_id}").status_code == 403


def test_search_by_camera_type_person_and_case(client: TestClient, recorded: Database) -> None:
    street = _segments(recorded, "street-1")
    room = _segments(recorded, "interview-1")
    t0 = room[0].start
    with recorded.session() as s:
        for cam, offset, kind in [
            ("interview-1", 1, "person_down"),
            ("interview-1", 9, "stillness"),
            ("street-1", 5, "loitering"),
            ("street-1", 30, "loitering"),
        ]:
            s.add(Event(type=kind, camera_id=cam, start=t0 + timedelta(seconds=offset), data={}))
    login(client, "investigator")
    everything = client.get("/api/search").json()
    assert len(everything) == 4
    assert everything[0]["play_url"].startswith("/playback?camera=")
    got = client.get("/api/search", params={"camera": "street-1", "type": "loitering"}).json()
    assert {r["camera_id"] for r in got} == {"street-1"}
    assert len(got) == 2
    # A person held: events on their room's cameras while they were there.
    from vms.custody.service import CustodyService

    custody = CustodyService(recorded, _config(client))
    person = custody.enter(
        name="Wang Wu",
        reason="fraud",
        basis="summons",
        room="interrogation-room-1",
        by="li",
        at=t0 + timedelta(seconds=5),
    )
    got = client.get("/api/search", params={"person": person.id}).json()
    assert [r["type"] for r in got] == ["stillness"]
    # A case: events inside its clips' ranges.
    made = client.post("/api/cases", json={"number": "S-1", "title": "search"}).json()
    seg = street[2]
    assert seg.end is not None
    clip = {"camera_id": "street-1", "start": seg.start.isoformat(), "end": seg.end.isoformat()}
    item = client.post(f"/api/cases/{made['id']}/clips", json=clip).json()
    inside = seg.start + timedelta(seconds=0.5)
    with recorded.session() as s:
        s.add(Event(type="intrusion", camera_id="street-1", start=inside, data={}))
    got = client.get("/api/search", params={"case": "S-1"}).json()
    assert "intrusion" in [r["type"] for r in got]
    lo, hi = datetime.fromisoformat(item["start"]), datetime.fromisoformat(item["end"])
    assert all(lo <= datetime.fromisoformat(r["start"]) < hi for r in got)
    assert client.get("/api/search", params={"case": "nope"}).status_code == 404


def _config(client: TestClient) -> Config:
    config: Config = client.app.state.web.config  # type: ignore[attr-defined]
    return config


def _custody_alert(db: Database, key: str, raised_at: datetime, camera: str | None) -> int:
    """An open custody alert as the custody checks raise it (level 1, nobody acknowledged)."""
    from vms.custody.models import Alert as CustodyAlert

    with db.session() as s:
        alert = CustodyAlert(
            key=key,
            type="legal_clock_warning",
            severity="warning",
            level=1,
            room_id="interrogation-room-1",
            camera_id=camera,
            message="Li Si: 1 h left on the legal clock",
            data={},
            raised_at=raised_at,
        )
        s.add(alert)
        s.flush()
        return alert.id


def _sse_messages(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("data: "):
            yield json.loads(line[6:])


def test_the_feed_carries_custody_alerts_and_their_escalation(
    client: TestClient, web_db: Database, web_config: Config
) -> None:
    from vms.custody.alerts import escalate
    from vms.custody.service import CustodyService

    raised = datetime.now(UTC)
    alert_id = _custody_alert(web_db, "api-feed", raised, "interview-1")
    login(client, "supervisor")
    first = client.get("/api/alerts").json()
    [listed] = [a for a in first["custody"] if a["id"] == alert_id]
    assert (listed["level"], listed["room_name"], listed["camera_id"]) == (
        1,
        "Interrogation room 1",
        "interview-1",
    )
    # Who is notified, in the user's language (the site's: no language of their own).
    said = web_config.texts().gettext
    assert listed["level_to"] == said("duty officer")
    cfg = web_config.custody.escalation
    with client.stream("GET", f"/api/alerts/stream?after={first['last_id']}") as res:
        messages = _sse_messages(res.iter_lines())
        got = next(messages)  # a new feed first gets every open custody alert
        assert (got["kind"], got["id"], got["level"]) == ("custody", alert_id, 1)
        # Nobody acknowledged it: the custody checks escalate it (as at raised + after_min).
        with web_db.session() as s:
            assert [a.id for a in escalate(s, raised + timedelta(minutes=cfg.after_min), cfg)] == [
                alert_id
            ]
        got = next(m for m in messages if m["kind"] == "custody")
        assert (got["id"], got["level"], got["level_to"]) == (
            alert_id,
            2,
            said("custody supervisor"),
        )
        assert got["escalated_at"] is not None
        # Acknowledged elsewhere (the custody page, another web process): the feed follows.
        CustodyService(web_db, web_config).acknowledge(alert_id, by="supervisor", note="on it")
        got = next(m for m in messages if m["kind"] == "custody")
        assert (got["id"], got["acknowledged_by"], got["ack_note"]) == (
            alert_id,
            "supervisor",
            "on it",
        )
    # A supervisor scoped to the street camera sees neither the alert nor the room.
    login(client, "scoped")
    assert alert_id not in [a["id"] for a in client.get("/api/alerts").json()["custody"]]


def test_custody_ack_goes_through_the_service_with_user_and_note(
    client: TestClient, web_db: Database
) -> None:
    from vms.custody.models import Alert as CustodyAlert

    alert_id = _custody_alert(web_db, "api-ack", datetime.now(UTC), None)
    login(client, "supervisor")
    res = client.post(f"/api/custody/alerts/{alert_id}/ack", json={"note": "  "})
    assert res.status_code == 400  # a note is required
    res = client.post(f"/api/custody/alerts/{alert_id}/ack", json={"note": "cell checked"})
    assert res.status_code == 200, res.text
    assert (res.json()["acknowledged_by"], res.json()["ack_note"]) == ("supervisor", "cell checked")
    with web_db.session() as s:
        row = s.get(CustodyAlert, alert_id)
        assert row is not None
        assert (row.acknowledged_by, row.ack_note, row.ack_at is not None) == (
            "supervisor",
            "cell checked",
            True,
        )
    again = client.post(f"/api/custody/alerts/{alert_id}/ack", json={"note": "twice"})
    assert again.status_code == 409  # already acknowledged: a conflict with the state


def test_custody_rooms_show_the_count_seen_on_video(
    client: TestClient, web_db: Database, web_config: Config
) -> None:
    from vms.custody.presence import PresenceRecorder, RoomObservation

    def room() -> dict[str, Any]:
        rooms: list[dict[str, Any]] = client.get("/api/custody/status").json()["rooms"]
        [r] = [r for r in rooms if r["id"] == "interrogation-room-1"]
        return r

    login(client, "supervisor")
    assert room()["video"] == {"count": None, "seen_at": None, "cameras": {"interview-1": None}}
    presence = web_config.custody.presence
    # Analytics saw two people a minute ago and nothing since: stale, so unknown.
    old = datetime.now(UTC) - timedelta(seconds=presence.stale_s + 45)
    recorder = PresenceRecorder(web_db, presence)
    recorder.observe(RoomObservation("interview-1", old, person_count=2))
    video = room()["video"]
    assert video["count"] is None
    assert datetime.fromisoformat(video["seen_at"]) == old
    # Analytics runs again: the latest count is shown beside the ledger's (nobody held).
    recorder = PresenceRecorder(web_db, presence)
    now = datetime.now(UTC)
    recorder.observe(RoomObservation("interview-1", now, person_count=1))
    got = room()
    assert got["held"] == []
    assert got["video"]["count"] == 1
    assert got["video"]["cameras"] == {"interview-1": 1}
    # The analytics pipeline stops: its rows end, the count is unknown at once.
    recorder.close()
    assert room()["video"]["count"] is None
