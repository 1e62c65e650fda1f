"""The link a search result plays: the site's local day, never the UTC date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from vms.db.models import Event
from vms.i18n import texts_for
from vms.web.routes.search import play_url


@pytest.mark.parametrize(
    ("at", "zone", "day"),
    [
        # 20:30 UTC is 04:30 the next morning in Shanghai: the timeline of the 3rd holds it.
        (datetime(2026, 3, 2, 20, 30, tzinfo=UTC), "Asia/Shanghai", "2026-03-03"),
        (datetime(2026, 3, 2, 15, 59, tzinfo=UTC), "Asia/Shanghai", "2026-03-02"),
        (datetime(2026, 3, 2, 3, 0, tzinfo=UTC), "America/New_York", "2026-03-01"),
        # A naive time read back from SQLite is UTC.
        (datetime(2026, 3, 2, 16, 0), "Asia/Shanghai", "2026-03-03"),
    ],
)  # fmt: skip
def test_play_url_names_the_local_day_and_the_utc_instant(
    at: datetime, zone: str, day: str
) -> None:
    event = Event(type="intrusion", camera_id="street-1", start=at, data={})
    query = parse_qs(urlsplit(play_url(event, texts_for("en", zone))).query)
    assert query["camera"] == ["street-1"]
    assert query["day"] == [day]
    instant = datetime.fromisoformat(query["t"][0])
    assert instant.utcoffset() is not None
    assert instant == (at if at.tzinfo else at.replace(tzinfo=UTC))
    # The recording of the event starts before it (pre-roll): the link plays from there.
    before = at - timedelta(seconds=5)
    recorded = Event(
        type="intrusion", camera_id="street-1", start=at, recording_start=before, data={}
    )
    query = parse_qs(urlsplit(play_url(recorded, texts_for("en", zone))).query)
    assert datetime.fromisoformat(query["t"][0]) == (
        before if before.tzinfo else before.replace(tzinfo=UTC)
    )
