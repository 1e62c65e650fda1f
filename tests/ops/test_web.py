"""The briefings in the web app: listed, shown as JSON, page and charts served, nothing else."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from tests.ops.conftest import T0, ops_config, prepared
from tests.support.clock import FakeClock
from tests.web.conftest import add_users
from vms.db.session import Database
from vms.ops.briefing import write_briefing
from vms.web.app import create_app
from vms.web.users import create_api_token, get_user


def test_briefings_are_listed_and_shown(db: Database, tmp_path: Path) -> None:
    config = prepared(db, ops_config(tmp_path))
    for day in (date(2026, 3, 8), date(2026, 3, 9)):
        write_briefing(db, config, day, clock=FakeClock(T0))
    users = add_users(db)
    with db.session() as s:
        token, _ = create_api_token(s, get_user(s, users.ids["auditor"]), "t")
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(config, db, dict), base_url="http://127.0.0.1") as client:
        listed = client.get("/api/briefings", headers=auth).json()
        assert [b["date"] for b in listed] == ["2026-03-09", "2026-03-08"]
        one = client.get("/api/briefings/2026-03-09", headers=auth)
        assert one.status_code == 200
        assert one.json()["date"] == "2026-03-09"
        page = client.get(listed[0]["html"], headers=auth)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        png = client.get("/api/briefings/2026-03-09/files/heatmap.png", headers=auth)
        assert png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG")
        for bad in (
            "/api/briefings/2026-03-10",
            "/api/briefings/..%2F..%2Fvms.db",
            "/api/briefings/2026-03-09/files/..%2F..%2Fvms.db",
            "/api/briefings/2026-03-09/files/other.png",
        ):
            assert client.get(bad, headers=auth).status_code == 404, bad
