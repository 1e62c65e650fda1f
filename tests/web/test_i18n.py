"""The pages' language: the user's choice, else the browser's, else the site's; local time."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import login
from vms.custody.job import run_custody_checks
from vms.custody.service import CustodyService


def test_language_from_the_browser_then_the_users_choice(client: TestClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert page.headers["content-language"] == "zh-CN"
    assert '<html lang="zh-CN">' in page.text
    assert "用户名" in page.text
    assert "User name" not in page.text
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert (page.headers["content-language"], "User name" in page.text) == ("en", True)
    assert client.get("/login").headers["content-language"] == "zh-CN"  # the site's default
    # The menu's choice (a cookie) beats the browser's language.
    client.cookies.set("vms_lang", "en")
    assert (
        client.get("/login", headers={"Accept-Language": "zh"}).headers["content-language"] == "en"
    )
    client.cookies.clear()

    login(client, "supervisor")
    zh = {"Accept-Language": "zh-CN"}
    live = client.get("/live", headers=zh)
    assert "实时监控墙" in live.text
    assert "UTC+8" in live.text  # the zone the times are in
    assert client.get("/api/auth/me").json()["language"] is None
    saved = client.patch("/api/auth/me", json={"language": "en"})
    assert saved.status_code == 200
    assert saved.json()["language"] == "en"
    # Saved with the user: every browser they use now gets English.
    assert client.get("/live", headers=zh).headers["content-language"] == "en"
    bad = client.patch("/api/auth/me", json={"language": "fr"})
    assert bad.status_code == 400
    assert "zh-CN, en" in bad.json()["message"]
    client.patch("/api/auth/me", json={"language": None})
    assert client.get("/live", headers=zh).headers["content-language"] == "zh-CN"


def test_error_pages_are_in_the_readers_language(client: TestClient) -> None:
    login(client, "auditor")
    page = client.get("/users", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 403
    assert '<html lang="zh-CN">' in page.text
    assert "返回首页" in page.text
    assert 'href="/audit"' in page.text  # the menu is there: the user is not lost


def test_custody_alerts_read_in_the_users_language(client: TestClient, app: object) -> None:
    state = client.app.state.web  # type: ignore[attr-defined]
    svc = CustodyService(state.db, state.config, state.clock)
    svc.enter(name="张三", reason="盗窃", basis="summons", room="interrogation-room-1", by="desk")
    run_custody_checks(state.db, state.config, state.clock)  # no camera recording: an alert
    login(client, "supervisor")
    zh = client.get("/api/custody/status", headers={"Accept-Language": "zh-CN"}).json()
    (alert,) = [a for a in zh["alerts"] if a["type"] == "room_without_video"]
    assert "房间使用中但无录像" not in alert["message"]  # the sentence, not the label
    assert "无录像" in alert["message"]
    assert zh["held"][0]["legal_basis_title"] == "传唤"
    en = client.get("/api/custody/status", headers={"Accept-Language": "en"}).json()
    (alert,) = [a for a in en["alerts"] if a["type"] == "room_without_video"]
    assert "is in use without video since" in alert["message"]
    assert en["held"][0]["legal_basis_title"] == "Summons"
