"""Pure decisions on what a file says: names, times and their source, GPS sentences, areas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.bodyworn.media import nmea_rmc
from vms.bodyworn.config import DEFAULT_NAME_PATTERNS, BodywornConfig
from vms.bodyworn.files import Area, distance_m, passes
from vms.bodyworn.metadata import (
    NameFacts,
    TimeSource,
    decide_times,
    gps_track,
    parse_iso6709,
    parse_name,
    parse_nmea,
)
from vms.bodyworn.probe import ProbeInfo, StreamInfo
from vms.errors import InvalidError

ZONE = BodywornConfig().zone
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _info(
    *, created: str | None = None, seconds: float = 60.0, texts: list[tuple[float, str]] = ()
) -> ProbeInfo:
    video = StreamInfo(0, "video", "h264", 600, 600, 600, 0.0, seconds, seconds, 1920, 1080, 10.0)
    tags = {"creation_time": created} if created else {}
    return ProbeInfo("mov,mp4", seconds, tags, [video], list(texts))


@pytest.mark.parametrize(
    ("name", "serial", "badge", "local"),
    [
        ("DSJ-A8-0001_20261130163012_0003.MP4", "DSJ-A8-0001", None, "2026-11-30 16:30:12"),
        ("20261130_163012_HK2039.mp4", "HK2039", None, "2026-11-30 16:30:12"),
        ("031245_DSJ9_20261130163012.MOV", "DSJ9", "031245", "2026-11-30 16:30:12"),
        ("holiday.mp4", None, None, None),
    ],
)
def test_file_name_conventions(
    name: str, serial: str | None, badge: str | None, local: str | None
) -> None:
    facts = parse_name(name, DEFAULT_NAME_PATTERNS, ZONE)
    assert (facts.serial, facts.badge) == (serial, badge)
    if local is None:
        assert facts.start is None
    else:
        expected = datetime.fromisoformat(local).replace(tzinfo=ZONE).astimezone(UTC)
        assert facts.start == expected  # Asia/Shanghai: 8 hours ahead of UTC


def test_times_come_from_metadata_then_name_then_file_time() -> None:
    name = NameFacts(start=datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    mtime = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    meta = decide_times(_info(created="2026-11-30T07:00:00.000000Z"), name, mtime, NOW)
    assert (meta.start, meta.end, meta.source) == (
        datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 7, 1, tzinfo=UTC),
        TimeSource.METADATA,
    )
    # A recorder whose clock was never set writes 1970 (or 1904): not believed.
    unset = decide_times(_info(created="1970-01-01T00:00:00Z"), name, mtime, NOW)
    assert (unset.start, unset.source) == (name.start, TimeSource.FILE_NAME)
    last = decide_times(_info(), NameFacts(), mtime, NOW)
    assert (last.start, last.end, last.source) == (
        mtime - timedelta(minutes=1), mtime, TimeSource.FILE_TIME,
    )  # fmt: skip
    future = NameFacts(start=NOW + timedelta(days=3))
    assert decide_times(_info(), future, mtime, NOW).source is TimeSource.FILE_TIME


def test_local_creation_time_when_configured() -> None:
    got = decide_times(
        _info(created="2026-11-30T16:00:00Z"), NameFacts(), None, NOW, metadata_zone=ZONE
    )
    assert got.start == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_nmea_sentences() -> None:
    at = datetime(2026, 11, 30, 8, 0, 1, tzinfo=UTC)
    rmc = nmea_rmc(at, 31.2304, 121.4737)
    lat, lon = parse_nmea(rmc) or (0, 0)
    assert (round(lat, 4), round(lon, 4)) == (31.2304, 121.4737)
    assert parse_nmea(rmc[:-2] + "00") is None  # bad checksum
    assert parse_nmea(rmc.replace(",A,", ",V,", 1)) is None  # no fix
    beidou = "$BDGGA,080001.00,3113.8240,N,12128.4220,E,1,08,1.0,10.0,M,0.0,M,,"
    assert parse_nmea(beidou) == pytest.approx((31.23040, 121.47370), abs=1e-5)
    southwest = nmea_rmc(at, -33.8688, -151.2093)
    assert parse_nmea(southwest) == pytest.approx((-33.8688, -151.2093), abs=1e-4)
    assert parse_iso6709("+31.2304+121.4737/") == (31.2304, 121.4737)
    assert parse_iso6709("nowhere") is None


def test_gps_track_from_text_packets() -> None:
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    texts = [
        (0.0, nmea_rmc(at, 31.23, 121.47)),
        (1.0, "garbage"),
        (2.0, "31.2310, 121.4750"),
    ]
    assert gps_track(_info(texts=texts)) == [[0.0, 31.23, 121.47], [2.0, 31.231, 121.475]]


def test_areas() -> None:
    # People's Square to the Bund: about 1.9 km.
    assert distance_m(31.2304, 121.4737, 31.2400, 121.4900) == pytest.approx(1900, rel=0.05)
    area = Area(31.2304, 121.4737, 500)
    lat0, lat1, lon0, lon1 = area.box()
    assert lat0 < 31.2304 < lat1
    assert lon0 < 121.4737 < lon1
    assert passes([[0, 31.2330, 121.4737]], area)  # ~290 m north
    assert not passes([[0, 31.2400, 121.4900]], area)
    with pytest.raises(InvalidError, match="radius_m"):
        Area(31.0, 121.0, 0)
