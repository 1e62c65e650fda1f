"""The custody rules fed by the REAL analytics pipeline (YOLO + ByteTrack) on real footage,
with a fake clock: frame times are the file's own, from T0.

The pipeline runs once per module and its per-frame results are handed to the presence
recorder exactly as the pipeline's observer hook does (``recorder.on_frame``), once per
database backend.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import shared_file
from tests.custody.conftest import T0, custody_config
from tests.support.clock import FakeClock
from vms.bootstrap import sync_cameras
from vms.config import Config
from vms.custody.job import run_custody_checks
from vms.custody.models import Alert
from vms.custody.presence import PresenceRecorder
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.db.session import Database
from vms.detection.config import DetectorConfig
from vms.detection.detector import YoloDetector
from vms.detection.events import DatabaseEventSink
from vms.detection.offline import analyze_file
from vms.detection.pipeline import FrameResult, pipeline_for
from vms.detection.video import read_frames

pytestmark = pytest.mark.slow

MODEL = "models/yolo11n_int8qdq-fixed_320.onnx"  # the default detector
OFFICERS = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]


@pytest.fixture(scope="module")
def detector() -> YoloDetector:
    return YoloDetector(DetectorConfig(model=shared_file(MODEL)))


def analysed(detector: YoloDetector, footage: str, fps: float, tmp: Path) -> list[FrameResult]:
    """Every frame result of the real pipeline on ``footage``, timed from T0."""
    config = custody_config(tmp)
    frames: list[FrameResult] = []
    analyze_file(
        shared_file(footage),
        config.camera("holding-cam"),
        detector=detector,
        origin=T0,
        fps=fps,
        observers=[frames.append],
    )
    return frames


@pytest.fixture(scope="module")
def one_by_one(detector: YoloDetector, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """Six people come to the table one at a time (139 s), analysed at 1 fps (enough for
    visits of 12-26 s, and it keeps the test's CPU time down)."""
    return analysed(
        detector, "footage/one-by-one-person-detection.mp4", 1, tmp_path_factory.mktemp("a")
    )


@pytest.fixture(scope="module")
def classroom(detector: YoloDetector, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """Four people seated, almost still (3 s)."""
    return analysed(detector, "footage/classroom.gif", 5, tmp_path_factory.mktemp("b"))


def feed(db: Database, config: Config, frames: Sequence[FrameResult], camera: str) -> None:
    """The frames as ``camera`` saw them, through the observer the pipeline calls."""
    recorder = PresenceRecorder(db, config.custody.presence)
    for f in frames:
        recorder.on_frame(dataclasses.replace(f, camera_id=camera))
    recorder.close()


def service(db: Database, config: Config) -> tuple[CustodyService, FakeClock]:
    sync_cameras(db, config)
    clock = FakeClock(T0)
    return CustodyService(db, config, clock), clock


def alerts(db: Database, type_: str) -> list[Alert]:
    with db.session() as s:
        q = select(Alert).where(Alert.type == type_).order_by(Alert.raised_at)
        return list(s.scalars(q))


def test_one_person_alone_alert_per_visit(
    db: Database, tmp_path: Path, one_by_one: list[FrameResult]
) -> None:
    config = custody_config(tmp_path, person_alone={"for_s": 8})
    svc, clock = service(db, config)
    svc.enter(name="Zhang San", reason="theft", basis="summons", room="holding-1", by="desk")
    feed(db, config, one_by_one, "holding-cam")
    # The scheduler's runs over the 139 s, every 10 s of fake time.
    while clock.now() < T0 + timedelta(seconds=140):
        clock.advance(seconds=10)
        run_custody_checks(db, config, clock)
    got = alerts(db, "person_alone")
    counts = [f.person_count for f in one_by_one]
    assert max(counts) == 1  # one person at a time, as the footage shows
    assert len(got) == 6, [(a.raised_at - T0, a.cleared_at) for a in got]
    for a, b in itertools.pairwise(got):
        assert a.cleared_at is not None
        assert a.cleared_at < b.raised_at  # one alert per visit: each ends before the next
    # Each alert comes 8 s into a visit: the first person reaches the table about 7 s in.
    first = (got[0].raised_at - T0).total_seconds()
    assert 12 <= first <= 18, first


def test_nobody_alone_when_nobody_is_held(
    db: Database, tmp_path: Path, one_by_one: list[FrameResult]
) -> None:
    config = custody_config(tmp_path, person_alone={"for_s": 8})
    _svc, clock = service(db, config)
    feed(db, config, one_by_one, "holding-cam")
    clock.set(T0 + timedelta(seconds=140))
    run_custody_checks(db, config, clock)
    assert alerts(db, "person_alone") == []


def test_two_officer_rule_on_real_footage(
    db: Database, tmp_path: Path, one_by_one: list[FrameResult], classroom: list[FrameResult]
) -> None:
    config = custody_config(tmp_path, two_officer={"for_s": 2})
    svc, clock = service(db, config)
    pid = svc.enter(name="Zhang San", reason="theft", basis="summons", room="holding-1", by="d").id
    other = svc.enter(
        name="Li Si", reason="theft", basis="summons", room="holding-1", by="d", id_number="2"
    ).id
    # Interview 1: four people seated in the room (classroom.gif): enough people, silent.
    iv1 = svc.start_interview(pid, room="int-1", officers=OFFICERS, by="li")
    feed(db, config, classroom, "interrogation-cam")
    assert min(f.person_count for f in classroom) >= 3
    clock.set(T0 + timedelta(seconds=3))
    run_custody_checks(db, config, clock)
    svc.end_interview(iv1.id, by="li")
    assert alerts(db, "two_officer") == []
    # Interview 2: at most one person visible (one-by-one footage, shifted after the first).
    start = T0 + timedelta(seconds=10)
    clock.set(start)
    iv2 = svc.start_interview(other, room="int-1", officers=OFFICERS, by="li")
    shifted = [dataclasses.replace(f, time=f.time + timedelta(seconds=10)) for f in one_by_one]
    feed(db, config, shifted, "interrogation-cam")
    clock.set(start + timedelta(seconds=60))
    run_custody_checks(db, config, clock)
    got = alerts(db, "two_officer")
    assert [(a.interview_id, a.raised_at) for a in got] == [(iv2.id, start + timedelta(seconds=2))]


def test_stillness_in_a_cell_from_the_real_pipeline(
    db: Database, tmp_path: Path, detector: YoloDetector
) -> None:
    """Four people sitting still, seen by a cell camera: the analytics pipeline writes
    stillness events into the database and the custody checks raise them for the person
    held there; the same events in a cell where nobody is held raise nothing."""
    base = custody_config(tmp_path)
    cams = [
        c.model_copy(update={"analytics": c.analytics.model_copy(update={"rules": _still()})})
        if c.id == "cell-cam"
        else c
        for c in base.cameras
    ]
    config = base.model_copy(update={"cameras": cams})
    svc, clock = service(db, config)
    sink = DatabaseEventSink(db, tmp_path)
    pipe = pipeline_for(config.camera("cell-cam"), detector=detector, sink=sink, fps=5)
    last = T0
    for t, image in read_frames(shared_file("footage/classroom.gif"), 5):
        last = T0 + timedelta(seconds=t)
        pipe.process(image, last)
    pipe.close(last)
    sink.close()
    clock.set(last)
    run_custody_checks(db, config, clock)
    assert alerts(db, "stillness") == []  # nobody held in the cell yet
    svc.enter(name="Zhang San", reason="theft", basis="summons", room="cell-1", by="d", at=T0)
    run_custody_checks(db, config, clock)
    got = alerts(db, "stillness")
    assert len(got) >= 1
    assert all(a.event_id is not None and a.room_id == "cell-1" for a in got)


def _still() -> Any:
    from vms.detection.config import RulesConfig

    return RulesConfig.model_validate({"stillness": {"seconds": 1.5}})
