"""The auditor's interview report and export on footage recorded by a real camera worker from a
real RTSP camera that goes away for a few seconds in the middle of the interview."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from tests.cameras.helpers import open_database, segments, start_worker
from tests.conftest import shared_file
from tests.support.rtsp import AudioTrack, Mount, RtspServer, prepare_h264, prepare_speech
from tests.support.waiting import wait_for
from vms.cli import app
from vms.cli_identity import os_user
from vms.config import Config
from vms.custody.models import Alert
from vms.custody.report import export_interview, interview_report
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.db.session import Database
from vms.evidence.audit import list_entries
from vms.vocab import jsonable

pytestmark = pytest.mark.slow

OUTAGE_S = 3.0
CAM = "int-cam"


@pytest.fixture(scope="module")
def camera_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    clip = shared_file("footage/one-by-one-person-detection.mp4")
    tmp = tmp_path_factory.mktemp("h264")
    path, fps = prepare_h264(clip, tmp, max_seconds=10)
    # An interrogation room records sound: without it every segment is an audio gap.
    speech = AudioTrack("aac", prepare_speech(tmp, "aac", seconds=16))
    with RtspServer({"/cam": Mount(path, fps, speech)}) as server:
        yield server


def settings(root: Path, url: str, db_url: str) -> dict[str, object]:
    return {
        "storage": {"root": str(root)},
        "database": {"url": db_url},
        "cameras": [
            {
                "id": CAM,
                "kind": "custody",
                "site": "Station 1",
                "room": "Interrogation 1",
                "room_type": "interrogation",
                "source": url,
                "segment_seconds": 2,
                "analysis_fps": 0,
                "stall_timeout_s": 2,
                "reconnect": {"initial_s": 0.3, "max_s": 1},
            }
        ],
        "custody": {
            "sites": [{"name": "Station 1", "rooms": [{"name": "Holding 1", "type": "holding"}]}]
        },
    }


def closed(db: Database) -> int:
    return sum(1 for s in segments(db, CAM) if s.status == "complete")


def test_interview_report_and_export_with_a_real_gap(
    camera_server: RtspServer, tmp_path: Path, db_url: str
) -> None:
    raw = settings(tmp_path / "store", camera_server.url("/cam"), db_url)
    config = Config.model_validate(raw)
    db = open_database(db_url, config)
    svc = CustodyService(db, config)
    pid = svc.enter(
        name="Zhang San", reason="theft", basis="summons", room="holding-1", by="desk"
    ).id
    running = start_worker(config.cameras[0], config.storage.root, db)
    try:
        wait_for("a first segment", lambda: closed(db) >= 1, 60)
        iv = svc.start_interview(
            pid,
            room="interrogation-1",
            officers=[Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")],
            by="li",
        )
        wait_for("a segment in the interview", lambda: closed(db) >= 2, 60)
        camera_server.stop()  # the camera goes away in the middle of the interview...
        time.sleep(OUTAGE_S)
        before = closed(db)
        camera_server.start()  # ...and comes back
        wait_for("two segments after the outage", lambda: closed(db) >= before + 2, 60)
        ended = svc.end_interview(iv.id, by="li", note="signed")
        assert ended.ended_at is not None
        end = ended.ended_at
        wait_for(  # footage beyond the end, so the last segment covers it
            "a segment recorded past the interview's end",
            lambda: any(s.start > end for s in segments(db, CAM)),
            60,
        )
        running.stop()
    finally:
        if running.thread.is_alive():
            running.stop()
    assert ended.ended_at is not None
    assert ended.recording_incomplete is True
    # The outage is the one gap: picture and sound both missing, listed once as a picture
    # gap; the rest of the interview was recorded with its sound (no audio gap).
    (video_gap,) = ended.gaps
    assert video_gap["kind"] == "video"
    with db.session() as s:
        alerts = s.scalars(select(Alert).where(Alert.type == "recording_incomplete")).all()
    (alert,) = [a for a in alerts if a.data["gap"]["kind"] == "video"]
    assert (alert.interview_id, alert.severity, alert.camera_id) == (iv.id, "critical", CAM)
    assert alert.data["gap"] == video_gap

    report = interview_report(db, config, iv.id, ended.ended_at)
    assert report.continuous is False
    assert report.sound is True
    assert report.complete is False
    assert report.hashes_ok is True
    (cam,) = report.cameras
    (gap,) = cam.gaps
    assert cam.audio_gaps == []
    assert gap.reasons[0].startswith("camera offline"), gap.reasons
    # The server was down OUTAGE_S; the gap is longer by the reconnect wait and the set-up.
    assert OUTAGE_S - 1 <= gap.duration_s <= OUTAGE_S + 10, gap.duration_s
    assert report.start < gap.start < gap.end < report.end
    assert [s.hash_check for s in cam.segments] == ["ok"] * len(cam.segments)
    starts = [s.start for s in cam.segments]
    ends = [s.end for s in cam.segments]
    assert starts[0] <= report.start
    assert ends[-1] is not None
    assert ends[-1] >= report.end
    data = jsonable(report)
    assert data["continuous"] is False
    assert data["officers"] == [
        {"name": "Li Wei", "badge": "031245"},
        {"name": "Wang Fang", "badge": "031877"},
    ]
    text = report.to_text()
    assert "Continuous: no" in text
    assert "Complete (picture and sound): no" in text
    assert "Sound: yes" in text
    assert "GAP " in text
    assert "badge 031877" in text

    out = tmp_path / "export"
    exported = export_interview(db, config, iv.id, out, ended.ended_at)
    (item,) = exported.exports
    assert item.path is not None
    mp4 = Path(item.path)
    assert mp4.parent == out
    assert (out / f"interview-{iv.id}-report.json").exists()
    # The exported report is in the site's language (zh-CN by default) and local time.
    written = (out / f"interview-{iv.id}-report.txt").read_text()
    assert "连续：否" in written
    assert "UTC+8" in written
    # Remuxed, not re-encoded: every exported packet is byte for byte a recorded one, and the
    # outage is still a jump in the export's timeline.
    recorded: set[bytes] = set()
    recorded_sound: set[bytes] = set()
    for s in cam.segments:
        with av.open(str(config.storage.root / s.path)) as c:
            recorded |= {bytes(p) for p in c.demux(video=0) if p.size}
        with av.open(str(config.storage.root / s.path)) as c:
            recorded_sound |= {bytes(p) for p in c.demux(audio=0) if p.size}
    with av.open(str(mp4)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert c.streams.audio[0].codec_context.name == "aac"
        packets = [p for p in c.demux(stream) if p.size]
        times = sorted(float(p.pts * stream.time_base) for p in packets)
        exported_bytes = [bytes(p) for p in packets]
    with av.open(str(mp4)) as c:
        sound = [bytes(p) for p in c.demux(audio=0) if p.size]
    assert len(packets) == item.packets > 0
    assert len(sound) == item.audio_packets > 0
    assert all(b in recorded for b in exported_bytes)
    assert all(b in recorded_sound for b in sound)  # the camera's sound, not re-encoded
    jumps = [b - a for a, b in itertools.pairwise(times)]
    assert max(jumps) >= OUTAGE_S - 1
    assert times[-1] - times[0] >= (report.end - report.start).total_seconds() - 2

    # The same report from the command line.
    cfg_file = tmp_path / "vms.yaml"
    cfg_file.write_text(yaml.safe_dump(raw))
    res = CliRunner().invoke(
        app, ["custody", "interview", str(iv.id), "--report", "--json", "-c", str(cfg_file)]
    )
    assert res.exit_code == 0, res.output
    cli = json.loads(res.stdout)
    assert cli["continuous"] is False
    assert [g["duration_s"] for g in cli["cameras"][0]["gaps"]] == [round(gap.duration_s, 3)]
    # Exporting the footage from the command line needs a reason, like the web, and is audited
    # with who really ran it (the OS user: no vms login given).
    to = tmp_path / "cli-export"
    base = ["custody", "interview", str(iv.id), "--export", str(to), "-c", str(cfg_file)]
    refused = CliRunner().invoke(app, base)
    assert refused.exit_code == 2
    assert "needs a reason" in refused.output
    assert not to.exists()
    res = CliRunner().invoke(app, [*base, "--reason", "complaint 2026/31", "--json"])
    assert res.exit_code == 0, res.output
    (mp4,) = json.loads(res.stdout)["exports"]
    views = list_entries(db, object_type="interview")
    assert [(e.action, e.actor, e.reason) for e in views] == [
        ("view", f"os:{os_user()}", "interview continuity report"),
        ("export", f"os:{os_user()}", "complaint 2026/31"),
    ]
    details = json.loads(views[1].details)
    assert (details["via"], details["os_user"], details["auth"]) == ("cli", os_user(), "os")
    assert [(f["path"], f["sha256"]) for f in details["files"]] == [(mp4["path"], mp4["sha256"])]
    db.dispose()
