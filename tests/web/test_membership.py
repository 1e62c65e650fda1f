"""Case membership: only a case's owner and named investigators open it, add to it and export
it; the investigators named must be existing investigators."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import PASSWORD, Users, login, record_file
from vms.config import Config
from vms.db.models import Segment
from vms.db.session import Database
from vms.web.roles import Role
from vms.web.users import create_user


@pytest.fixture
def recorded(web_db: Database, web_config: Config) -> Database:
    record_file(web_db, web_config, "street-1")
    return web_db


def test_only_the_owner_and_named_investigators_open_add_to_and_export_a_case(
    client: TestClient, users: Users, recorded: Database
) -> None:
    with recorded.session() as s:
        for name in ("partner", "stranger"):
            create_user(s, name, PASSWORD, Role.INVESTIGATOR)
    login(client, "investigator")
    for bad, named in ((["ghost"], "ghost"), (["auditor"], "auditor")):
        res = client.post("/api/cases", json={"number": "X-1", "title": "t", "investigators": bad})
        assert res.status_code == 400, res.text
        assert f"not so: {named}" in res.json()["message"]
    made = client.post(
        "/api/cases", json={"number": "2026-77", "title": "Theft", "investigators": ["partner"]}
    )
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    assert (made.json()["owner"], made.json()["investigators"]) == ("investigator", ["partner"])
    seg = _street_segment(recorded)
    clip = {"camera_id": "street-1", "start": seg[0], "end": seg[1]}

    login(client, "partner")  # named: may open, add and export
    assert [c["number"] for c in client.get("/api/cases").json()] == ["2026-77"]
    assert client.get(f"/api/cases/{case_id}").status_code == 200
    assert client.post(f"/api/cases/{case_id}/clips", json=clip).status_code == 201
    package = client.post(f"/api/cases/{case_id}/exports", json={})
    assert package.status_code == 201, package.text
    url = package.json()["url"]

    login(client, "stranger")  # another investigator: nothing of it, not even its title
    assert client.get("/api/cases").json() == []
    for res in (
        client.get(f"/api/cases/{case_id}"),
        client.post(f"/api/cases/{case_id}/clips", json=clip),
        client.post(f"/api/cases/{case_id}/exports", json={}),
        client.get(url),
        client.get("/api/search", params={"case": "2026-77"}),
        client.get(f"/cases/{case_id}"),
    ):
        assert res.status_code == 403, res.request.url
        assert "Theft" not in res.text
    assert "owner and named investigators" in client.get(f"/api/cases/{case_id}").json()["message"]

    login(client, "supervisor")  # supervisors: not at all
    assert client.get(f"/api/cases/{case_id}").status_code == 403
    assert client.get("/api/cases").status_code == 403


def _street_segment(db: Database) -> tuple[str, str]:
    with db.session() as s:
        seg = s.scalars(
            select(Segment).where(Segment.camera_id == "street-1").order_by(Segment.start)
        ).first()
        assert seg is not None
        assert seg.end is not None
        return seg.start.isoformat(), seg.end.isoformat()
