"""Pages that say what is true (issue 16, item 5): error pages instead of raw JSON or empty
forms, search that says why nothing can match, Chinese case numbers, offline API docs, the
briefings page and its headline."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient

from tests.web.conftest import login
from vms.custody.models import Alert as CustodyAlert
from vms.ops.briefing import write_briefing

ZH = {"Accept-Language": "zh-CN"}


def test_unknown_pages_cases_and_cameras_get_an_error_page(client: TestClient) -> None:
    login(client, "investigator")
    for path in ("/no-such-page", "/cases/999999", "/cases/abc", "/playback?camera=nope"):
        page = client.get(path, headers=ZH)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html"), path
        assert "404 · 未找到" in page.text, path
        assert 'href="/search"' in page.text, path  # the menu: not a dead end
        assert 'id="add-clip"' not in page.text  # not an empty case form
    assert "/no-such-page" in client.get("/no-such-page", headers=ZH).text
    # The API keeps answering JSON.
    api = client.get("/api/no-such-route")
    assert (api.status_code, api.json()["error"]) == (404, "HTTPException")


def test_search_says_why_nothing_can_match(client: TestClient) -> None:
    login(client, "investigator")
    res = client.get(
        "/api/search", params={"since": "2026-03-09T12:00:00Z", "until": "2026-03-09T11:00:00Z"}
    )
    assert res.status_code == 400
    assert "since (2026-03-09T12:00:00+00:00) is after until" in res.json()["message"]
    res = client.get("/api/search", params=[("type", "loitering"), ("type", "walking")])
    assert res.status_code == 400
    assert "unknown event type(s) 'walking'" in res.json()["message"]
    assert "person_down" in res.json()["message"]  # the known ones are named
    assert client.get("/api/search", params={"type": "loitering"}).status_code == 200


def test_a_case_number_in_chinese_is_accepted(client: TestClient) -> None:
    login(client, "investigator")
    number = "京公（刑）立字〔2026〕142号"
    res = client.post("/api/cases", json={"number": number, "title": "盗窃案"})
    assert res.status_code == 201, res.text
    case = res.json()
    assert client.get(f"/api/cases/{case['id']}").json()["number"] == number
    page = client.get(f"/cases/{case['id']}", headers=ZH)
    assert page.status_code == 200
    bad = client.post("/api/cases", json={"number": "-2026 142", "title": "x"})
    assert bad.status_code == 400
    assert "case number must be" in bad.json()["message"]


def test_api_docs_work_without_a_network(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assert "cdn." not in page.text
        assert "https://" not in page.text.replace("https://swagger.io", ""), path
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        res = client.get(f"/docs-assets/{asset}")
        assert res.status_code == 200
        assert len(res.content) > 50_000, asset


def test_briefings_page_with_navigation_and_a_headline_that_counts_custody_alerts(
    client: TestClient,
) -> None:
    state = client.app.state.web  # type: ignore[attr-defined]
    login(client, "supervisor")
    empty = client.get("/briefings", headers=ZH)
    assert empty.status_code == 200
    assert 'id="no-briefing"' in empty.text  # says none is written yet, and when it will be
    assert "06:00" in empty.text
    with state.db.session() as s:
        s.add(
            CustodyAlert(
                key="honest-1",
                type="person_alone",
                severity="warning",
                level=1,
                message="m",
                data={},
                raised_at=datetime(2026, 3, 9, 4, tzinfo=UTC),  # 12:00 in Beijing
            )
        )
    for day in (date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10)):
        write_briefing(state.db, state.config, day)
    page = client.get("/briefings?day=2026-03-09", headers=ZH)
    assert page.status_code == 200
    assert "共 1 条告警：摄像机与智能分析 0 条，办案区 1 条（1 条未确认）" in page.text
    assert 'href="/briefings?day=2026-03-08"' in page.text  # older
    assert 'href="/briefings?day=2026-03-10"' in page.text  # newer
    assert "人员单独滞留" in page.text  # the rule, by its label
    assert client.get("/briefings", headers=ZH).text.count("selected") == 2  # newest + language
    assert client.get("/briefings?day=2026-03-20").status_code == 404
    nav = client.get("/cameras", headers=ZH).text
    assert 'href="/briefings"' in nav
