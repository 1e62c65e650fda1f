"""The live wall's page and its overlay feed: tiles grouped by area, and the analysis's tracks
streamed for the browser to draw (the video is never touched)."""

from __future__ import annotations

import json
import multiprocessing as mp
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Users, fake_health, login
from vms.cameras.overlay import Overlay, OverlaySlot
from vms.config import Config
from vms.db.session import Database
from vms.web.app import create_app


@pytest.fixture
def slot() -> OverlaySlot:
    return OverlaySlot(mp.get_context("spawn"))


@pytest.fixture
def wall(
    web_config: Config, web_db: Database, users: Users, slot: OverlaySlot
) -> Iterator[TestClient]:
    app = create_app(
        web_config, web_db, fake_health, overlays=lambda cam: slot if cam == "street-1" else None
    )
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def _events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, object]]]:
    kind = ""
    for line in lines:
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            yield kind, json.loads(line[6:])


def test_overlay_feed_streams_the_newest_tracks(wall: TestClient, slot: OverlaySlot) -> None:
    login(wall, "supervisor")
    at = datetime.now(UTC).isoformat()
    with wall.stream("GET", "/api/live/overlays?camera=street-1&camera=interview-1") as res:
        assert res.headers["content-type"].startswith("text/event-stream")
        events = _events(res.iter_lines())
        # No analysis reaches this web process for the interview room: it says so.
        assert next(events) == ("unavailable", {"camera": "interview-1"})
        slot.write(
            Overlay("street-1", at, 768, 432, 2, [(7, 1, 2, 30, 90), (9, 5, 5, 9, 9)]).encode()
        )
        kind, doc = next(events)
    assert kind == "overlay"
    assert doc == {
        "camera": "street-1",
        "t": at,
        "w": 768,
        "h": 432,
        "n": 2,
        "b": [[7, 1, 2, 30, 90], [9, 5, 5, 9, 9]],
    }
    login(wall, "scoped")  # street-1 only
    assert wall.get("/api/live/overlays?camera=interview-1").status_code == 403
    assert wall.get("/api/live/overlays").status_code == 422  # which cameras, then?


def test_the_wall_groups_custody_rooms_by_area(wall: TestClient) -> None:
    login(wall, "supervisor")
    page = wall.get("/live", headers={"Accept-Language": "zh-CN"}).text
    assert '<option value="street:Test street">街面：Test street</option>' in page
    assert '<option value="custody:Test custody area">办案区：Test custody area</option>' in page
    assert page.index('data-camera="street-1"') < page.index('data-camera="interview-1"')
    assert 'data-room-id="interrogation-room-1"' in page
    for n in (1, 4, 9, 16):
        assert f'data-layout="{n}"' in page
    assert wall.get("/live?camera=nope").status_code == 404
