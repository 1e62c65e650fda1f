"""What a recorder file says about itself: device, officer, times, GPS track (pure functions).

Recording times come from the first source that gives a plausible one, and the file records
which: the container's ``creation_time`` (``metadata``), else the recorder's file-name
convention (``file_name``, local time in ``bodyworn.timezone``), else the file's modification
time as the end of recording (``file_time``). GPS comes from NMEA sentences (``$xxRMC``,
``$xxGGA``: GPS, BeiDou and GNSS talkers) in a subtitle or data stream, else from an
ISO 6709 ``location`` tag (one point). Coordinates are kept as the recorder wrote them (WGS-84).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from vms.bodyworn.probe import ProbeInfo

SERIAL_TAGS = ("device_serial", "serial_number", "serial", "device_id")
BADGE_TAGS = ("officer_badge", "badge", "police_id")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # before this, the recorder's clock was not set
_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$")
_ISO6709 = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")
_LATLON = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


class TimeSource(StrEnum):
    METADATA = "metadata"
    FILE_NAME = "file_name"
    FILE_TIME = "file_time"


@dataclass(frozen=True)
class NameFacts:
    """What the file name says, by the first convention that matches it."""

    serial: str | None = None
    badge: str | None = None
    start: datetime | None = None
    pattern: int | None = None


@dataclass(frozen=True)
class Times:
    start: datetime
    end: datetime
    source: TimeSource


def valid_serial(value: str) -> bool:
    return bool(_SERIAL.match(value))


def _local(text: str, zone: ZoneInfo) -> datetime | None:
    digits = text.replace("_", "").replace("-", "").replace("T", "")
    try:
        naive = datetime.strptime(digits, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return naive.replace(tzinfo=zone).astimezone(UTC)


def parse_name(name: str, patterns: Sequence[str], zone: ZoneInfo) -> NameFacts:
    """Serial, badge and start time from a file name, by the first pattern that matches."""
    for n, text in enumerate(patterns):
        m = re.match(text, name)
        if not m:
            continue
        groups = m.groupdict()
        serial = groups.get("serial")
        start = _local(groups["start"], zone) if groups.get("start") else None
        return NameFacts(
            serial=serial if serial and valid_serial(serial) else None,
            badge=groups.get("badge") or None,
            start=start,
            pattern=n,
        )
    return NameFacts()


def _tag(info: ProbeInfo, keys: Sequence[str]) -> str | None:
    for key in keys:
        for tags in (info.tags, *(s.tags for s in info.streams)):
            value = tags.get(key)
            if value and value.strip():
                return value.strip()
    return None


def serial_tag(info: ProbeInfo) -> str | None:
    value = _tag(info, SERIAL_TAGS)
    return value if value and valid_serial(value) else None


def badge_tag(info: ProbeInfo) -> str | None:
    return _tag(info, BADGE_TAGS)


def plausible(at: datetime | None, now: datetime) -> bool:
    return at is not None and EARLIEST <= at <= now + timedelta(days=1)


def metadata_start(info: ProbeInfo, zone: ZoneInfo | None = None) -> datetime | None:
    """The container's creation time (UTC per the MP4/MOV specification; with ``zone``, a
    recorder that writes local time into it)."""
    text = _tag(info, ("creation_time",))
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if zone is not None:
        at = at.replace(tzinfo=zone)
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


def duration_of(info: ProbeInfo) -> float:
    """Seconds of footage: measured from the packets, else as the header declares."""
    return info.measured_s or info.duration_s or 0.0


def decide_times(
    info: ProbeInfo,
    name: NameFacts,
    file_time: datetime | None,
    now: datetime,
    *,
    metadata_zone: ZoneInfo | None = None,
) -> Times:
    """Start and end of recording, and where they came from (see the module docstring)."""
    length = timedelta(seconds=duration_of(info))
    start = metadata_start(info, metadata_zone)
    if plausible(start, now):
        assert start is not None
        return Times(start, start + length, TimeSource.METADATA)
    if plausible(name.start, now):
        assert name.start is not None
        return Times(name.start, name.start + length, TimeSource.FILE_NAME)
    end = file_time if file_time is not None else now
    return Times(end - length, end, TimeSource.FILE_TIME)


# --- GPS --------------------------------------------------------------------------------


def _nmea_ok(sentence: str) -> bool:
    body, star, check = sentence.partition("*")
    if not star:
        return True
    total = 0
    for ch in body.lstrip("$"):
        total ^= ord(ch)
    try:
        return int(check[:2], 16) == total
    except ValueError:
        return False


def _degrees(value: str, hemi: str) -> float | None:
    """NMEA ``ddmm.mmmm`` / ``dddmm.mmmm`` with its hemisphere letter, as signed degrees."""
    if not value or hemi not in "NSEW" or not hemi:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    deg = int(number // 100)
    result = deg + (number - deg * 100) / 60
    return -result if hemi in "SW" else result


def parse_nmea(line: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a valid RMC or GGA sentence, else None."""
    line = line.strip()
    if not line.startswith("$") or not _nmea_ok(line):
        return None
    fields = line.split("*")[0].split(",")
    kind = fields[0][3:]
    try:
        if kind == "RMC" and fields[2] == "A":
            lat, lon = _degrees(fields[3], fields[4]), _degrees(fields[5], fields[6])
        elif kind == "GGA" and fields[6] not in ("", "0"):
            lat, lon = _degrees(fields[2], fields[3]), _degrees(fields[4], fields[5])
        else:
            return None
    except IndexError:
        return None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def parse_iso6709(text: str) -> tuple[float, float] | None:
    m = _ISO6709.match(text.strip())
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def gps_track(info: ProbeInfo) -> list[list[float]]:
    """[[seconds from the start of the file, latitude, longitude], ...] (may be empty)."""
    start = info.origin_s
    track: list[list[float]] = []
    for t, text in info.texts:
        for line in text.splitlines():
            point = parse_nmea(line)
            if point is None:
                m = _LATLON.match(line)
                point = (float(m.group(1)), float(m.group(2))) if m else None
            if point is not None:
                track.append(
                    [round(max(0.0, t - start), 3), round(point[0], 7), round(point[1], 7)]
                )
                break
    if not track:
        tag = _tag(info, ("location", "location-eng", "com.apple.quicktime.location.ISO6709"))
        point = parse_iso6709(tag) if tag else None
        if point is not None:
            track.append([0.0, round(point[0], 7), round(point[1], 7)])
    return track


def bbox(track: Sequence[Sequence[float]]) -> tuple[float, float, float, float] | None:
    """(min lat, max lat, min lon, max lon) of a track."""
    if not track:
        return None
    lats = [p[1] for p in track]
    lons = [p[2] for p in track]
    return min(lats), max(lats), min(lons), max(lons)
