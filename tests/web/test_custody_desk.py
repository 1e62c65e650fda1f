"""The custody desk's API: the ledger's operations from the browser, validated by the same
CustodyService as the CLI and written to the audit log with the user."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.web.conftest import login
from vms.evidence.audit import list_entries

OFFICERS = [{"name": "李伟", "badge": "031245"}, {"name": "王芳", "badge": "031877"}]


def post(client: TestClient, path: str, body: dict[str, Any], status: int = 200) -> Any:
    res = client.post(path, json=body)
    assert res.status_code == status, res.text
    return res.json()


def test_register_interview_release_audited_like_the_cli(client: TestClient) -> None:
    login(client, "supervisor")
    person = post(
        client,
        "/api/custody/people",
        {
            "name": "张三",
            "reason": "涉嫌盗窃",
            "basis": "summons",
            "room": "holding-room-1",
            "case_number": "2026-0142",
            "id_number": "110101199001011234",
        },
        201,
    )
    pid = person["id"]
    assert (person["room"], person["limit_h"], person["entered_by"]) == (
        "holding-room-1",
        12.0,
        "supervisor",
    )
    status = client.get("/api/custody/status").json()
    assert [p["name"] for p in status["held"]] == ["张三"]
    post(client, f"/api/custody/people/{pid}/risk", {"risk": "elevated"})
    post(client, f"/api/custody/people/{pid}/checks", {"note": "清醒"}, 201)
    iv = post(
        client,
        f"/api/custody/people/{pid}/interviews",
        {"room": "interrogation-room-1", "officers": OFFICERS},
        201,
    )
    assert iv["officers"] == OFFICERS
    # The ledger's rules are the CLI's: no release and no move during an interview.
    busy = client.post(f"/api/custody/people/{pid}/exit", json={})
    assert busy.status_code == 409
    assert "end it first" in busy.json()["message"]
    assert (
        client.post(f"/api/custody/people/{pid}/move", json={"room": "cell-1"}).status_code == 409
    )
    ended = post(client, f"/api/custody/interviews/{iv['id']}/end", {"note": "笔录已签字"})
    assert ended["ended_by"] == "supervisor"
    post(client, f"/api/custody/people/{pid}/move", {"room": "cell-1"})
    out = post(client, f"/api/custody/people/{pid}/exit", {"note": "家属接回"})
    assert out["exited_by"] == "supervisor"
    assert client.get("/api/custody/status").json()["held"] == []

    state = client.app.state.web  # type: ignore[attr-defined]
    entries = [
        e
        for e in list_entries(state.db)
        if e.object_type.startswith("custody_") or e.object_type == "interview"
    ]
    ops = [json.loads(e.details)["op"] for e in entries]
    assert ops == [
        "enter",
        "risk",
        "check",
        "interview_start",
        "interview_end",
        "move",
        "exit",
    ]
    assert {e.actor for e in entries} == {"supervisor"}
    details = json.loads(entries[0].details)
    assert (details["via"], details["role"], details["name"]) == ("web", "supervisor", "张三")
    assert entries[0].case_number == "2026-0142"
    assert entries[3].object_type == "interview"


def test_the_desk_refuses_what_the_cli_refuses(client: TestClient) -> None:
    login(client, "supervisor")
    body = {"name": "李四", "reason": "斗殴", "room": "cell-1"}
    bad = client.post("/api/custody/people", json={**body, "basis": "detention"})
    assert bad.status_code == 400
    assert "no legal basis 'detention'" in bad.json()["message"]
    custom = client.post("/api/custody/people", json={**body, "basis": "custom"})
    assert custom.status_code == 400
    assert "needs the limit in hours" in custom.json()["message"]
    other = client.post("/api/custody/people", json={**body, "basis": "summons", "limit_h": 20})
    assert other.status_code == 400
    assert "use basis 'custom'" in other.json()["message"]
    future = client.post(
        "/api/custody/people", json={**body, "basis": "summons", "at": "2999-01-01T00:00:00Z"}
    )
    assert future.status_code == 400
    assert "in the future" in future.json()["message"]
    nowhere = client.post("/api/custody/people", json={**body, "basis": "summons", "room": "attic"})
    assert nowhere.status_code == 404
    missing = client.post("/api/custody/people", json={"name": "x", "room": "cell-1"})
    assert missing.status_code == 422
    assert "body reason" in missing.json()["message"]
    pid = post(client, "/api/custody/people", {**body, "basis": "summons"}, 201)["id"]
    cell = client.post(
        f"/api/custody/people/{pid}/interviews", json={"room": "cell-1", "officers": OFFICERS}
    )
    assert cell.status_code == 400
    assert "interviews are held in interrogation or inquiry rooms" in cell.json()["message"]
    none = client.post(f"/api/custody/people/{pid}/interviews", json={"officers": []})
    assert none.status_code == 422
    assert client.post("/api/custody/people/99999/checks", json={}).status_code == 404
    # Nothing refused reached the audit log.
    state = client.app.state.web  # type: ignore[attr-defined]
    ops = [
        json.loads(e.details)["op"]
        for e in list_entries(state.db)
        if e.object_type.startswith("custody_") or e.object_type == "interview"
    ]
    assert ops == ["enter"]


def test_a_scoped_supervisor_cannot_act_in_rooms_outside_the_scope(client: TestClient) -> None:
    login(client, "scoped")  # street-1 only: the interrogation room's camera is outside
    res = client.post(
        "/api/custody/people",
        json={"name": "x", "reason": "y", "basis": "summons", "room": "interrogation-room-1"},
    )
    assert res.status_code == 403
    ok = client.post(
        "/api/custody/people",
        json={"name": "x", "reason": "y", "basis": "summons", "room": "holding-room-1"},
    )
    # A room without a camera of its own is in no camera scope (docs/web.md): refused too.
    assert ok.status_code == 403
    login(client, "investigator")
    assert client.post("/api/custody/people", json={}).status_code == 403
