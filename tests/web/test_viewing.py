"""Viewing copies: what a browser is given of a recorded segment it cannot play as it is."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from tests.support.footage import Take, camera_stream, record_segments
from vms.bootstrap import sync_cameras
from vms.config import Config
from vms.db.migrate import upgrade
from vms.db.models import SegmentStream
from vms.db.session import Database
from vms.web.viewing import ViewingCopies, ViewingPlan, make_viewing_copy, viewing_plan

T0 = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)


def streams(video: str, audio: str | None = None, **kw: int) -> list[SegmentStream]:
    out = [SegmentStream(index=0, kind="video", codec=video)]
    if audio:
        out.append(SegmentStream(index=1, kind="audio", codec=audio, **kw))
    return out


@pytest.mark.parametrize(
    ("video", "audio", "suffix", "hevc", "expected"),
    [
        ("h264", "aac", ".mp4", False, ViewingPlan("copy", "copy")),  # as recorded
        ("h264", None, ".mp4", False, ViewingPlan("copy", "none")),
        ("h264", "pcm_alaw", ".mov", False, ViewingPlan("copy", "copy")),  # Chromium plays it
        ("h264", "opus", ".mp4", False, ViewingPlan("copy", "copy")),
        ("hevc", "aac", ".mp4", True, ViewingPlan("copy", "copy")),  # the browser decodes H.265
        ("hevc", "aac", ".mp4", False, ViewingPlan("h264", "copy")),
        ("hevc", "pcm_mulaw", ".mov", False, ViewingPlan("h264", "aac")),  # no G.711 in MP4
        ("h264", "adpcm_g726", ".nut", False, ViewingPlan("copy", "aac", True, 4)),
    ],
)
def test_viewing_plan(
    video: str, audio: str | None, suffix: str, hevc: bool, expected: ViewingPlan
) -> None:
    kw = {"bit_rate": 32000, "sample_rate": 8000} if audio == "adpcm_g726" else {}
    plan = viewing_plan(streams(video, audio, **kw), suffix, browser_hevc=hevc)
    assert plan == expected
    assert plan.needed == (expected != ViewingPlan("copy", expected.audio) or expected.remux)


@pytest.mark.parametrize(
    ("take", "plan"),
    [
        (Take("c", video="hevc", audio="pcm_alaw"), ViewingPlan("h264", "aac")),
        (Take("c", audio="adpcm_g726"), ViewingPlan("copy", "aac", True, 4)),
    ],
    ids=["hevc+g711", "h264+g726"],
)
def test_viewing_copy_plays_as_h264_and_aac(
    take: Take, plan: ViewingPlan, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A segment as the recorder writes it (MOV for G.711, NUT for G.726).
    config = Config.model_validate(
        {
            "storage": {"root": str(tmp_path / "store")},
            "cameras": [{"id": "c", "kind": "street", "site": "S", "source": "synthetic://c"}],
        }
    )
    db = Database(f"sqlite:///{tmp_path / 'vms.db'}")
    upgrade(db.engine)
    sync_cameras(db, config)
    work = tmp_path_factory.getbasetemp() / "camera-streams"
    rec = record_segments(db, config.storage.root, take, T0, 3.0, work=work, segment_s=10)
    db.dispose()
    (seg,) = rec.segments
    src = config.storage.root / seg.path
    out = tmp_path / "copy.mp4"
    make_viewing_copy(src, out, plan, "VIEWING COPY of segment 1")
    with av.open(str(src)) as c:
        video_in = [bytes(p) for p in c.demux(video=0) if p.size]
        c.seek(0)
        frames_in = sum(1 for _ in c.decode(video=0))
    with av.open(str(out)) as c:
        assert c.metadata["comment"] == "VIEWING COPY of segment 1"
        names = [s.codec_context.name for s in c.streams]
        assert names == ["h264", "aac"]
        frames = sum(1 for _ in c.decode(video=0))
        c.seek(0)
        audio = sum(f.samples for f in c.decode(audio=0))
        c.seek(0)
        video_out = [bytes(p) for p in c.demux(video=0) if p.size]
    assert frames == frames_in >= 20  # every picture (about 3 s at 10 fps)
    assert audio / 48000 > 2.5
    # Only what must change changes: an H.264 camera's packets are copied as they are.
    assert (video_out == video_in) == (plan.video == "copy")


def test_the_cache_keeps_copies_under_its_cap(tmp_path: Path) -> None:
    src = camera_stream(Take("c", audio="pcm_alaw"), 2.0, tmp_path / "streams")
    cache = ViewingCopies(tmp_path / "viewing", cap_bytes=1)  # room for the newest only
    plan = ViewingPlan("copy", "aac", True)
    first = cache.get(src, "1-aaaa", plan, "copy")
    again = cache.get(src, "1-aaaa", plan, "copy")
    assert (first.made, again.made, again.path) == (True, False, first.path)
    second = cache.get(src, "2-bbbb", plan, "copy")
    assert second.path.exists()
    assert not first.path.exists()
