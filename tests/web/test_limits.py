"""No 500 from input: ids beyond 64 bits, times at the ends of the calendar, malformed SDP
offers all answer 4xx naming the field (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.web.conftest import Users, login
from vms.web.limits import problem_of

HUGE = str(2**64)
NEGATIVE = str(-(2**63) - 1)


def _named(res: Response, field: str) -> None:
    assert res.status_code == 422, (res.request.url, res.text)
    assert field in res.json()["message"], res.text


@pytest.mark.parametrize("who", ["investigator", "supervisor"])
def test_ids_beyond_64_bits_are_refused_naming_the_field(
    client: TestClient, users: Users, who: str
) -> None:
    login(client, who)
    for url, field in [
        (f"/api/recordings/segments/{HUGE}/download", "path segment_id"),
        (f"/api/recordings/segments/{NEGATIVE}/video?grant=x", "path segment_id"),
        (f"/api/cases/{HUGE}", "path case_id"),
        (f"/api/events/{HUGE}/snapshot", "path event_id"),
        (f"/api/alerts/{HUGE}/acks", "path event_id"),
        (f"/api/interviews/{HUGE}/report", "path interview_id"),
        (f"/api/search?person={HUGE}", "query person"),
        (f"/api/bodyworn/files/{HUGE}", "path file_id"),
    ]:
        res = client.get(url)
        if res.status_code == 403:  # the role may not call it at all: refused before anything
            continue
        _named(res, field)
    assert client.get(f"/cases/{HUGE}").status_code in (403, 404)  # a page: no such case
    if who == "investigator":
        _named(client.post("/api/playback", json={"segment_id": 2**64}), "body segment_id")
        _named(client.post(f"/api/cases/{HUGE}/clips", json={}), "path case_id")
    else:
        _named(client.post(f"/api/custody/alerts/{HUGE}/ack", json={"note": "x"}), "path alert_id")
        _named(client.post(f"/api/alerts/{HUGE}/ack", json={"note": "x"}), "path event_id")


def test_times_at_the_ends_of_the_calendar_are_refused_naming_the_field(
    client: TestClient, users: Users
) -> None:
    login(client, "investigator")
    early, late = "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"
    for url, field in [
        (f"/api/events?since={early}", "query since"),
        (f"/api/events?until={late}", "query until"),
        (f"/api/search?since={late}", "query since"),
        ("/api/recordings/street-1/timeline?day=9999-12-31", "query day"),
        ("/api/recordings/street-1/timeline?day=0001-01-01", "query day"),
        (f"/api/bodyworn/timeline?start={early}&end={late}", "query start"),
    ]:
        _named(client.get(url.replace("+", "%2B")), field)
    made = client.post("/api/cases", json={"number": "2026-9", "title": "t"}).json()["id"]
    clip = {"camera_id": "street-1", "start": early, "end": late}
    _named(client.post(f"/api/cases/{made}/clips", json=clip), "body start")
    # An ordinary time with an offset still works.
    assert client.get("/api/events?since=2026-03-01T08:00:00%2B08:00").status_code == 200


def test_a_malformed_sdp_offer_is_a_400_naming_the_field(client: TestClient, users: Users) -> None:
    login(client, "supervisor")
    for sdp in ("not an sdp", "v=0\r\nm=video\r\n", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n"):
        res = client.post("/api/live/street-1/offer", json={"sdp": sdp, "type": "offer"})
        assert res.status_code == 400, res.text
        assert res.json()["message"].startswith("body sdp:"), res.text


def test_text_with_nul_characters_is_refused_naming_the_field(
    client: TestClient, users: Users
) -> None:
    """PostgreSQL cannot store NUL: refused where it comes in, on both backends alike."""
    res = client.post("/api/auth/login", json={"username": "a\x00b", "password": "x" * 10})
    _named(res, "body username")
    login(client, "investigator")
    _named(client.get("/api/cameras/a%00b"), "path camera_id")
    _named(client.get("/api/search?zone=a%00b"), "query zone")
    _named(client.get(f"/api/cases/{2**31}"), "path case_id")  # row ids are 32-bit


def test_the_range_rule() -> None:
    assert problem_of(2**63 - 1) is None
    assert problem_of(2**63) is not None
    assert problem_of(2**31, row_id=True) is not None
    assert problem_of(2**31 - 1, row_id=True) is None
    assert problem_of(True) is None
    assert problem_of(float("nan")) is not None
    assert problem_of(1e300) is not None
    assert problem_of(2.5) is None
    assert problem_of("a\x00") is not None
    assert problem_of(datetime(2026, 3, 1, tzinfo=UTC)) is None
    assert problem_of(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))) is not None
    assert problem_of(date(9999, 12, 31)) is not None
    assert problem_of("anything else") is None
    assert problem_of(None) is None
