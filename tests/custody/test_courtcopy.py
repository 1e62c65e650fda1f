"""The court copy of an interview, rendered from real recordings with sound: two cameras of
one interrogation room (real footage, espeak-ng speech on the main camera), the main camera
away for two seconds in the middle. The copy is read back as a viewer would: its pictures
compared with the recordings, the burned-in time read with OCR, its sound with the speech."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import cv2
import numpy as np
import numpy.typing as npt
import pytest
import yaml
from sqlalchemy import update
from typer.testing import CliRunner

from tests.support.clock import FakeClock
from tests.support.footage import OTHER_FOOTAGE, Recorded, Take, record_segments
from vms.bootstrap import sync_cameras
from vms.cli import app
from vms.cli_identity import os_user
from vms.config import Config
from vms.custody.courtcopy import StillRecordingError, make_court_copy, package_path
from vms.custody.render import SAMPLE_RATE, Clock
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.db.models import Segment
from vms.db.session import Database
from vms.errors import ConflictError, FileIntegrityError, InvalidError
from vms.evidence import signing
from vms.evidence.audit import Actor, list_entries
from vms.evidence.export import verify_package

pytestmark = pytest.mark.slow

T0 = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
SECONDS = 12.0
OUTAGE = (5.0, 7.0)  # seconds after T0: the main camera is away
START, END = 1.0, 10.5  # the interview, seconds after T0
Pixels = npt.NDArray[np.uint8]


def room_config(root: Path, db_url: str) -> dict[str, object]:
    cam = {"kind": "custody", "site": "Station 1", "source": "synthetic://x", "analysis_fps": 0}
    return {
        "storage": {"root": str(root)},
        "database": {"url": db_url},
        "cameras": [
            {**cam, "id": "int-wide", "room": "Interrogation 1", "room_type": "interrogation"},
            {**cam, "id": "int-main", "room": "Interrogation 1", "room_type": "interrogation"},
            {**cam, "id": "hold-cam", "room": "Holding 1", "room_type": "holding"},
        ],
        "custody": {
            "sites": [
                {
                    "name": "Station 1",
                    "rooms": [
                        {
                            "name": "Interrogation 1",
                            "type": "interrogation",
                            "id": "int-1",
                            "main_camera": "int-main",
                            "inset_camera": "int-wide",
                        }
                    ],
                }
            ]
        },
    }


@dataclass
class Room:
    raw: dict[str, object]
    config: Config
    db: Database
    clock: FakeClock
    interview: int
    main: Recorded
    wide: Recorded


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("camera-streams")


@pytest.fixture
def room(db: Database, db_url: str, tmp_path: Path, streams: Path) -> Room:
    raw = room_config(tmp_path / "store", db_url)
    config = Config.model_validate(raw)
    config.recordings_dir.mkdir(parents=True)
    sync_cameras(db, config)
    root = config.storage.root
    main = record_segments(db, root, Take("int-main"), T0, SECONDS, work=streams, outages=[OUTAGE])
    wide = record_segments(
        db,
        root,
        Take("int-wide", footage=OTHER_FOOTAGE, video="h264", audio=None),
        T0,
        SECONDS,
        work=streams,
    )
    clock = FakeClock(T0)
    svc = CustodyService(db, config, clock)
    person = svc.enter(
        name="张三",
        reason="theft",
        basis="summons",
        room="holding-1",
        by="desk",
        case_number="A-17",
    )
    clock.set(T0 + timedelta(seconds=START))
    officers = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]
    iv = svc.start_interview(person.id, room="int-1", officers=officers, by="li")
    clock.set(T0 + timedelta(seconds=END))
    svc.end_interview(iv.id, by="li")
    clock.set(T0 + timedelta(minutes=5))
    return Room(raw, config, db, clock, iv.id, main, wide)


def frame_at(path: Path, t: float) -> Pixels:
    """The picture shown ``t`` seconds into a file (the last frame at or before it)."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        best: Pixels | None = None
        for frame in c.decode(stream):
            assert frame.pts is not None
            if float(frame.pts * stream.time_base) > t + 1e-6:
                break
            best = frame.to_ndarray(format="bgr24")
    assert best is not None
    return best


def recorded_frame(config: Config, rec: Recorded, at: datetime, size: tuple[int, int]) -> Pixels:
    seg = max((s for s in rec.segments if s.start <= at), key=lambda s: s.start)
    image = frame_at(config.storage.root / seg.path, (at - seg.start).total_seconds())
    return np.asarray(
        av.VideoFrame.from_ndarray(image, format="bgr24").to_ndarray(
            format="bgr24", width=size[0], height=size[1]
        )
    )


def mad(a: Pixels, b: Pixels) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def ocr(image: Pixels, tmp: Path) -> str:
    """Text in an image, read by Tesseract (Debian's tesseract-ocr): scaled up, binarised,
    dark text on light (what Tesseract reads best)."""
    exe = shutil.which("tesseract")
    if exe is None:
        pytest.fail("tesseract is missing: scripts/setup --dev installs tesseract-ocr")
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    big = cv2.resize(gray, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    _, bw = cv2.threshold(big, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    texts = []
    for n, variant in enumerate((255 - big, bw)):  # two readings: either may be the clearer
        png = tmp / f"ocr-{n}.png"
        cv2.imwrite(str(png), variant)
        res = subprocess.run([exe, str(png), "-", "--psm", "6"], capture_output=True, text=True)
        texts.append(res.stdout)
    return "\n".join(texts)


def sound(path: Path) -> tuple[float, npt.NDArray[np.float32]]:
    """A file's first audio stream as 48 kHz mono samples, and where they start (s)."""
    parts = []
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        start: float | None = None
        for frame in c.decode(stream):
            if start is None and frame.pts is not None:
                start = float(frame.pts * stream.time_base)
            parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    return start or 0.0, np.concatenate(parts).astype(np.float32)


def envelope(samples: npt.NDArray[np.float32], window: int = 960) -> npt.NDArray[np.float64]:
    n = len(samples) // window
    return np.sqrt((samples[: n * window].reshape(n, window).astype(np.float64) ** 2).mean(1))


def recorded_sound(config: Config, rec: Recorded, start: datetime) -> npt.NDArray[np.float32]:
    """The camera's recorded sound placed on a timeline from ``start`` (silence between)."""
    out = np.zeros(round((END - START + 2) * SAMPLE_RATE), np.float32)
    for seg in rec.segments:
        first, data = sound(config.storage.root / seg.path)
        at = round(((seg.start - start).total_seconds() + first) * SAMPLE_RATE)
        lo = max(0, at)
        hi = min(len(out), at + len(data))
        if hi > lo:
            out[lo:hi] = data[lo - at : hi - at]
    return out


def test_court_copy_has_both_pictures_the_time_the_sound_and_the_gap(
    room: Room, tmp_path: Path
) -> None:
    cfg_file = tmp_path / "vms.yaml"
    cfg_file.write_text(yaml.safe_dump(room.raw))
    out = tmp_path / "court" / f"interview-{room.interview}.mp4"
    res = CliRunner().invoke(
        app,
        [
            "custody", "interview", str(room.interview), "--court-copy", str(out),
            "--reason", "procuratorate review, case A-17",
            "-c", str(cfg_file),
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"court copy {out}" in res.stdout
    assert "DERIVED" in res.stdout
    assert "court copy of interview" in res.stderr  # the progress bar
    pkg = package_path(out)
    manifest = json.loads((pkg / "manifest.json").read_text())
    derived = manifest["derived"]

    # A plain MP4 with H.264 + AAC as long as the interview, saying what it is.
    with av.open(str(out)) as c:
        assert "mp4" in c.format.name
        (video,) = c.streams.video
        (audio,) = c.streams.audio
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        assert (video.width, video.height) == (768, 432)  # the main camera's size
        assert audio.sample_rate == SAMPLE_RATE
        assert c.duration is not None
        assert abs(c.duration / 1e6 - (END - START)) < 0.2
        assert "DERIVED COPY" in c.metadata["comment"]

    # Both pictures: the main camera full frame, the wide camera inset (top right).
    t = 2.0
    at = T0 + timedelta(seconds=START + t)
    frame = frame_at(out, t)
    main_ref = recorded_frame(room.config, room.main, at, (768, 432))
    x, y, iw, ih = 510, 12, 246, 138  # inset_geometry for 768x432 and a 640x360 camera
    inset_ref = recorded_frame(room.config, room.wide, at, (iw, ih))
    body = (slice(160, 370), slice(40, 480))  # below the time, left of the inset, above footer
    assert mad(frame[body], main_ref[body]) < 12
    assert mad(frame[y + 4 : y + ih - 30, x + 4 : x + iw - 4], inset_ref[4:-30, 4:-4]) < 14
    assert mad(frame[y : y + ih, x : x + iw], main_ref[y : y + ih, x : x + iw]) > 30

    # The recording time, UTC and local, read back from the picture.
    text = ocr(frame[0:80, 0:480], tmp_path)
    assert "2026-03-02 08:00:03 UTC" in text, text
    assert "2026-03-02 16:00:03 Asia/Shanghai" in text, text

    # The gap: a slate naming its times, never the pictures joined; no sound during it.
    gap_t = OUTAGE[0] - START + 0.9  # in the middle of the outage
    slate = frame_at(out, gap_t)
    text = ocr(slate[100:300, 0:768], tmp_path)
    assert "RECORDING GAP" in text, text
    assert "08:00:05 - 08:00:07 UTC" in text, text
    banner = ocr(slate[330:410, 0:768], tmp_path)
    assert "NO SOUND" in banner, banner
    assert derived["slate_frames"] == round((OUTAGE[1] - OUTAGE[0]) * 10)

    # The sound: the main camera's speech, in step with the picture; silence in the gap.
    _, got = sound(out)
    assert abs(len(got) / SAMPLE_RATE - (END - START)) < 0.1
    ref = recorded_sound(room.config, room.main, T0 + timedelta(seconds=START))[: len(got)]
    env_got, env_ref = envelope(got), envelope(ref)
    n = min(len(env_got), len(env_ref))
    corr = [
        float(
            np.corrcoef(env_got[max(0, k) : n + min(0, k)], env_ref[max(0, -k) : n - max(0, k)])[
                0, 1
            ]
        )
        for k in range(-5, 6)
    ]  # 20 ms steps
    assert max(corr) > 0.9, corr
    assert abs(int(np.argmax(corr)) - 5) <= 2, corr  # within 40 ms
    gap = got[
        round((OUTAGE[0] - START + 0.1) * SAMPLE_RATE) : round(
            (OUTAGE[1] - START - 0.1) * SAMPLE_RATE
        )
    ]
    assert float(np.abs(gap).max()) < 1e-3
    speech = got[round(0.5 * SAMPLE_RATE) : round(3.5 * SAMPLE_RATE)]
    assert float(np.sqrt((speech**2).mean())) > 0.01

    # The package: the originals bit for bit with their hashes, the copy marked derived.
    pem = signing.public_pem(signing.load_or_create_key(signing.keys_dir(room.config)).public_key())
    report = verify_package(pkg, trusted_key=pem)
    assert report.ok, report.problems
    assert manifest["format"] == "vms-court-copy/1"
    assert derived["kind"] == "court_copy"
    assert derived["derived"] is True
    assert derived["layout"] == {
        "main": "int-main", "inset": "int-wide", "microphone": "int-main",
        "inset_corner": "top-right",
    }  # fmt: skip
    assert derived["time_burned_in"] == {"utc": True, "local": "Asia/Shanghai"}  # the site's
    assert (pkg / "court-copy" / out.name).read_bytes() == out.read_bytes()
    used = [
        s
        for s in room.main.segments + room.wide.segments
        if s.start < T0 + timedelta(seconds=END)
        and s.end is not None
        and s.end > T0 + timedelta(seconds=START)
    ]
    assert sorted(o["segment"] for o in manifest["originals"]) == sorted(s.id for s in used)
    for o in manifest["originals"]:
        seg = next(s for s in used if s.id == o["segment"])
        assert o["sha256"] == seg.sha256
        assert (pkg / o["path"]).read_bytes() == (room.config.storage.root / seg.path).read_bytes()
    assert manifest["complete"] is False  # the gap
    assert manifest["reason"] == "procuratorate review, case A-17"
    who = f"os:{os_user()}"  # no vms login given: the OS user, never a typed name
    assert manifest["exported_by"] == who

    # The audit log: who, why, and that it is derived.
    (entry,) = [e for e in list_entries(room.db, action="export") if e.object_type == "interview"]
    assert (entry.actor, entry.reason, entry.object_id) == (
        who,
        "procuratorate review, case A-17",
        str(room.interview),
    )
    details = json.loads(entry.details)
    assert details["what"] == "court copy"
    assert details["derived"] is True
    assert details["sha256"] == derived["file"]["sha256"]


def test_court_copy_refusals_leave_nothing_behind(room: Room, tmp_path: Path) -> None:
    out = tmp_path / "cc.mp4"
    actor = Actor("auditor-zhao", "review")
    args = (room.db, room.config, room.clock)
    with pytest.raises(InvalidError, match="reason"):
        make_court_copy(*args, Actor("auditor-zhao", " "), room.interview, out)
    with pytest.raises(InvalidError, match=r"\.mp4"):
        make_court_copy(*args, actor, room.interview, tmp_path / "cc.mov")
    taken = tmp_path / "taken.mp4"
    taken.write_bytes(b"someone's file")
    with pytest.raises(ConflictError, match="never replaces"):
        make_court_copy(*args, actor, room.interview, taken)
    assert taken.read_bytes() == b"someone's file"
    # An interview still going on.
    svc = CustodyService(room.db, room.config, room.clock)
    other = svc.start_interview(
        svc.enter(name="李四", reason="x", basis="summons", room="holding-1", by="desk").id,
        room="int-1",
        officers=[Officer("Li Wei", "031245")],
        by="li",
    )
    with pytest.raises(ConflictError, match="in progress"):
        make_court_copy(*args, actor, other.id, out)
    # An altered original: no copy is made of it.
    seg = room.main.segments[1]
    path = room.config.storage.root / seg.path
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(FileIntegrityError, match=f"segment {seg.id}"):
        make_court_copy(*args, actor, room.interview, out)
    assert not out.exists()
    assert not package_path(out).exists()
    assert not [e for e in list_entries(room.db, action="export")]


def test_a_court_copy_asked_for_as_the_interview_ends_waits_for_its_last_segment(
    room: Room, tmp_path: Path
) -> None:
    out = tmp_path / "cc.mp4"
    actor = Actor("auditor-zhao", "review")
    end = T0 + timedelta(seconds=END)
    last = next(s for s in room.main.segments if s.start <= end < (s.end or end))
    written = {"end": last.end, "sha256": last.sha256, "status": last.status}

    def writing(**values: object) -> None:
        with room.db.session() as s:
            s.execute(update(Segment).where(Segment.id == last.id).values(**values))

    # The camera still writes the segment that holds the interview's end: no hash yet.
    writing(end=None, sha256=None, status="recording")
    room.clock.set(end + timedelta(seconds=1))
    args = (room.db, room.config, room.clock, actor, room.interview, out)
    with pytest.raises(StillRecordingError, match=f"segment {last.id}") as still:
        make_court_copy(*args, wait=False)
    # due: its start + the camera's segment length (60 s) + custody.recording.stale_s (30 s)
    assert still.value.until == last.start + timedelta(seconds=90)
    # Waiting: the segment closes meanwhile, its hash is read then (here it is not the
    # file's, so the copy is refused for that, which shows the wait read the new row).
    closer = threading.Timer(
        0.5, writing, kwargs={**written, "sha256": "0" * 64, "status": "complete"}
    )
    closer.start()
    try:
        with pytest.raises(FileIntegrityError, match=f"segment {last.id}.*mismatch"):
            make_court_copy(*args)
    finally:
        closer.join()
    # A writer overdue (past its rotation and stale_s) will not hash it: refused at once.
    writing(end=None, sha256=None, status="recording")
    room.clock.set(last.start + timedelta(seconds=91))
    with pytest.raises(FileIntegrityError, match=f"segment {last.id}.*unhashed"):
        make_court_copy(*args)
    # Still being written when the wait is over: the conflict, saying why.
    room.clock.set(last.start + timedelta(seconds=89))
    with pytest.raises(StillRecordingError, match="still being written"):
        make_court_copy(*args)
    assert not out.exists()
    assert not [e for e in list_entries(room.db, action="export")]


@pytest.mark.parametrize(
    ("zone", "at", "local"),
    [
        ("Asia/Shanghai", datetime(2026, 3, 2, 23, 30, 5, tzinfo=UTC), "2026-03-03 07:30:05"),
        ("Europe/London", datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC), "2026-07-01 13:00:00"),
    ],
)  # fmt: skip
def test_burned_in_time_is_utc_and_local(zone: str, at: datetime, local: str) -> None:
    clock = Clock(at - timedelta(seconds=2), ZoneInfo(zone))
    offset = {"Asia/Shanghai": "+08:00", "Europe/London": "+01:00"}[zone]
    assert clock.lines(2.0) == (f"{at:%Y-%m-%d %H:%M:%S} UTC", f"{local} {zone} (UTC{offset})")


def test_court_copy_takes_the_configured_microphone_and_the_sites_time_zone(
    room: Room, tmp_path: Path
) -> None:
    """The room names the wide camera (which records no sound) as its microphone, and the
    site reads local time in London: the copy carries that camera's sound (none: silence,
    every second listed as a sound gap) and burns in London time (UTC+0 in March)."""
    raw = json.loads(json.dumps(room.raw))
    raw["custody"]["sites"][0]["rooms"][0]["microphone_camera"] = "int-wide"
    raw["site"] = {"timezone": "Europe/London"}
    config = Config.model_validate(raw)
    out = tmp_path / "mic.mp4"
    actor = Actor("auditor-zhao", "procuratorate review")
    result = make_court_copy(room.db, config, room.clock, actor, room.interview, out)
    derived = json.loads((package_path(out) / "manifest.json").read_text())["derived"]
    assert derived["layout"]["microphone"] == "int-wide"
    assert derived["time_burned_in"] == {"utc": True, "local": "Europe/London"}
    assert {g["camera"] for g in derived["sound_gaps"]} == {"int-wide"}
    assert sum(
        (datetime.fromisoformat(g["end"]) - datetime.fromisoformat(g["start"])).total_seconds()
        for g in derived["sound_gaps"]
    ) == pytest.approx(END - START, abs=0.1)
    assert derived["silent_seconds"] == pytest.approx(END - START, abs=0.2)
    _, got = sound(out)
    assert abs(len(got) / SAMPLE_RATE - result.seconds) < 0.1
    assert float(np.abs(got).max()) < 1e-3  # the wide camera's (absent) sound, not the main's
    text = ocr(frame_at(out, 2.0)[0:80, 0:480], tmp_path)
    assert "2026-03-02 08:00:03 UTC" in text, text
    assert "2026-03-02 08:00:03 Europe/London" in text, text
