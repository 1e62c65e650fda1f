"""Interview completeness covers sound, on real recordings (footage with espeak-ng speech
through the recorder's own writer and index): an audio gap makes the interview incomplete,
and a room whose camera records no sound at all raises "no sound" when it is configured and
when an interview starts there."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from tests.support.clock import FakeClock
from tests.support.footage import OTHER_FOOTAGE, Take, record_segments
from vms.bootstrap import sync_cameras
from vms.config import Config
from vms.custody.job import run_custody_checks
from vms.custody.models import Alert, Interview
from vms.custody.report import export_interview, interview_report
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.db.session import Database
from vms.vocab import jsonable

pytestmark = pytest.mark.slow

T0 = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
SILENCE = (4.0, 7.0)  # the microphone of int-cam stops, the picture goes on
OFFICERS = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]


def config(root: Path) -> Config:
    cam = {"kind": "custody", "site": "Station 1", "source": "synthetic://x", "analysis_fps": 0}
    return Config.model_validate(
        {
            "storage": {"root": str(root)},
            "cameras": [
                {**cam, "id": "int-cam", "room": "Interrogation 1", "room_type": "interrogation"},
                {**cam, "id": "inq-cam", "room": "Inquiry 1", "room_type": "inquiry"},
                {**cam, "id": "hold-cam", "room": "Holding 1", "room_type": "holding"},
                {**cam, "id": "g711-cam", "room": "Interrogation 2", "room_type": "interrogation"},
            ],
        }
    )


@dataclass
class Site:
    config: Config
    db: Database
    clock: FakeClock
    svc: CustodyService
    person: int


@pytest.fixture
def site(db: Database, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Site:
    cfg = config(tmp_path / "store")
    cfg.recordings_dir.mkdir(parents=True)
    sync_cameras(db, cfg)
    work = tmp_path_factory.getbasetemp() / "camera-streams"
    root = cfg.storage.root
    record_segments(db, root, Take("int-cam"), T0, 12.0, work=work, silences=[SILENCE])
    # The inquiry room's camera sends pictures only (its microphone was never set up), and
    # so does the holding room's (no sound needed there).
    silent = Take("inq-cam", footage=OTHER_FOOTAGE, video="h264", audio=None)
    record_segments(db, root, silent, T0, 12.0, work=work)
    record_segments(db, root, Take("hold-cam", audio=None), T0, 12.0, work=work)
    record_segments(db, root, Take("g711-cam", audio="pcm_alaw"), T0, 12.0, work=work)
    clock = FakeClock(T0)
    svc = CustodyService(db, cfg, clock)
    person = svc.enter(name="张三", reason="theft", basis="summons", room="holding-1", by="desk")
    return Site(cfg, db, clock, svc, person.id)


def test_an_audio_gap_makes_the_interview_incomplete(site: Site, tmp_path: Path) -> None:
    site.clock.set(T0 + timedelta(seconds=1))
    iv = site.svc.start_interview(site.person, room="interrogation-1", officers=OFFICERS, by="li")
    site.clock.set(T0 + timedelta(seconds=10))
    ended = site.svc.end_interview(iv.id, by="li")
    # Recorded picture all along, the sound missing for the silence: incomplete.
    assert ended.recording_incomplete is True
    (gap,) = ended.gaps
    assert gap["kind"] == "audio"
    report = interview_report(site.db, site.config, iv.id, site.clock.now())
    (cam,) = report.cameras
    assert (report.continuous, report.sound, report.complete) == (True, False, False)
    assert cam.gaps == []
    (silence,) = cam.audio_gaps
    # The gap runs from the first audio packet missed to the first one back (packets of
    # 64 ms at 16 kHz AAC): within a packet of the silence.
    assert abs((silence.start - T0).total_seconds() - SILENCE[0]) < 0.1
    assert abs((silence.end - T0).total_seconds() - SILENCE[1]) < 0.1
    assert silence.reasons == ("audio stopped: no audio packet from the camera",)
    text = report.to_text()
    assert "Complete (picture and sound): no" in text
    assert "Continuous: yes" in text
    assert "AUDIO GAP " in text
    data = jsonable(report)
    assert (data["complete"], data["sound"], data["continuous"]) == (False, False, True)
    assert data["cameras"][0]["audio_gaps"][0]["kind"] == "audio"
    # The export's report says the same.
    out = export_interview(site.db, site.config, iv.id, tmp_path / "export", site.clock.now())
    saved = json.loads((tmp_path / "export" / f"interview-{iv.id}-report.json").read_text())
    assert (saved["complete"], len(saved["cameras"][0]["audio_gaps"])) == (False, 1)
    assert out.complete is False
    # The exported file carries the picture and the sound, each packet as recorded.
    (item,) = out.exports
    assert item.path is not None
    recorded: dict[str, set[bytes]] = {"video": set(), "audio": set()}
    for sg in cam.segments:
        with av.open(str(site.config.storage.root / sg.path)) as c:
            for p in c.demux():
                if p.size:
                    recorded[p.stream.type].add(bytes(p))
    with av.open(item.path) as c:
        got = {"video": [], "audio": []}  # type: dict[str, list[bytes]]
        for p in c.demux():
            if p.size:
                got[p.stream.type].append(bytes(p))
        assert c.streams.audio[0].codec_context.name == "aac"
    assert got["audio"]
    assert len(got["audio"]) == item.audio_packets
    assert all(b in recorded["audio"] for b in got["audio"])
    assert all(b in recorded["video"] for b in got["video"])
    # 6 s of sound in a 9 s interview (the 3 s silence), 64 ms a packet
    assert 6.0 / 0.064 - 5 <= len(got["audio"]) <= 6.0 / 0.064 + 20
    # The checks raise "recording incomplete" for the silence, critical, saying so.
    run_custody_checks(site.db, site.config, site.clock, layout=site.svc.layout)
    with site.db.session() as s:
        (alert,) = s.scalars(select(Alert).where(Alert.type == "recording_incomplete")).all()
    assert (alert.interview_id, alert.camera_id, alert.severity) == (iv.id, "int-cam", "critical")
    assert "recorded no sound" in alert.message


def test_a_room_without_sound_raises_an_alert_when_configured_and_at_each_interview(
    site: Site,
) -> None:
    site.clock.set(T0 + timedelta(seconds=2))
    run_custody_checks(site.db, site.config, site.clock, layout=site.svc.layout)

    def alerts() -> list[Alert]:
        with site.db.session() as s:
            return list(s.scalars(select(Alert).where(Alert.type == "no_sound")))

    # Configuration time: the inquiry room's camera reported its streams, no audio among them.
    (configured,) = alerts()
    assert (configured.camera_id, configured.room_id, configured.interview_id) == (
        "inq-cam",
        "inquiry-1",
        None,
    )
    assert configured.severity == "critical"
    assert configured.message.startswith("Inquiry room records no sound: camera inq-cam")
    # An interview starts there: alerted at once, by the service, with the interview.
    iv = site.svc.start_interview(site.person, room="inquiry-1", officers=OFFICERS, by="li")
    at_start = [a for a in alerts() if a.interview_id == iv.id]
    assert len(at_start) == 1
    assert f"interview {iv.id} started there" in at_start[0].message
    # The checks keep it (raised once), and clear it when the interview has ended.
    run_custody_checks(site.db, site.config, site.clock, layout=site.svc.layout)
    assert len(alerts()) == 2
    site.clock.set(T0 + timedelta(seconds=9))
    site.svc.end_interview(iv.id, by="li")
    run_custody_checks(site.db, site.config, site.clock, layout=site.svc.layout)
    by_iv = {a.interview_id: a for a in alerts()}
    assert by_iv[iv.id].cleared_at is not None
    assert by_iv[None].cleared_at is None  # the room still records no sound
    with site.db.session() as s:
        row = s.get(Interview, iv.id)
        assert row is not None
        assert row.recording_incomplete is True


def test_an_interview_export_keeps_g711_sound_in_mov(site: Site, tmp_path: Path) -> None:
    site.clock.set(T0 + timedelta(seconds=1))
    iv = site.svc.start_interview(site.person, room="interrogation-2", officers=OFFICERS, by="li")
    site.clock.set(T0 + timedelta(seconds=8))
    site.svc.end_interview(iv.id, by="li")
    out = export_interview(site.db, site.config, iv.id, tmp_path, site.clock.now())
    assert out.complete is True
    (item,) = out.exports
    assert item.path is not None
    assert item.path.endswith("-g711-cam.mov")  # MP4 refuses G.711, as the recording did
    with av.open(item.path) as c:
        assert [s.codec_context.name for s in c.streams] == ["h264", "pcm_alaw"]
        seconds = sum(p.size for p in c.demux(audio=0)) / 8000  # 8 kHz, a byte a sample
    assert 6.5 <= seconds <= 8.0
