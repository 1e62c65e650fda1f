"""One camera's analysis: motion -> detector -> tracker -> zones -> rules -> events.

The same ``Pipeline`` runs live (frames from a camera worker, wall-clock times) and offline
(``vms analyze``: frames from a file, times from the file); nothing in it reads a clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import supervision as sv

from vms.detection.config import AnalyticsConfig, DetectMode, RulesConfig
from vms.detection.detections import empty_tracks, subset
from vms.detection.detector import Detector
from vms.detection.events import EventRecord, EventSink, recording_range
from vms.detection.motion import MotionDetector, MotionResult
from vms.detection.rules.base import Changed, Ended, Fired, Observation, Rule, Transition
from vms.detection.rules.crowding import CrowdingRule
from vms.detection.rules.intrusion import IntrusionRule
from vms.detection.rules.loitering import LoiteringRule
from vms.detection.rules.occupancy import OccupancyRule
from vms.detection.rules.person_down import PersonDownRule
from vms.detection.rules.stillness import StillnessRule
from vms.detection.rules.tamper import SceneFeatures, TamperRule, scene_features
from vms.detection.tracking import ByteTrackTracker, Tracker
from vms.detection.zones import Zone
from vms.errors import ConfigError
from vms.vocab import CameraKind, severity_of

if TYPE_CHECKING:
    from vms.config import CameraConfig

log = logging.getLogger(__name__)

#: Motion covered this much by the box of a tracked object is that object moving in place.
_COVERED = 0.8


@dataclass(frozen=True)
class FrameResult:
    """What the pipeline made of one frame."""

    camera_id: str
    time: datetime
    motion: MotionResult
    detected: bool  # the detector ran on this frame
    tracks: sv.Detections  # tracked objects now (held from the last detector run)
    transitions: list[Transition] = field(default_factory=list)

    @property
    def person_count(self) -> int:
        return len(self.tracks)

    @property
    def track_ids(self) -> tuple[int, ...]:
        ids = self.tracks.tracker_id
        return () if ids is None else tuple(int(i) for i in ids)


@dataclass
class _Slot:
    rule: Rule[Any]
    zone: Zone | None
    state: Any


@dataclass
class _Open:
    handle: object
    record: EventRecord


def build_rules(
    rules: RulesConfig, zone: str | None, clear_s: float, track_clear_s: float
) -> list[Rule[Any]]:
    """The rules configured for one zone (or the whole frame)."""
    out: list[Rule[Any]] = []
    if rules.loitering:
        out.append(LoiteringRule(rules.loitering, zone, track_clear_s))
    if rules.intrusion:
        out.append(IntrusionRule(rules.intrusion, zone, clear_s))
    if rules.crowding:
        out.append(CrowdingRule(rules.crowding, zone, clear_s))
    if rules.occupancy:
        out.append(OccupancyRule(rules.occupancy, zone, clear_s))
    if rules.person_down:
        out.append(PersonDownRule(rules.person_down, zone, track_clear_s))
    if rules.stillness:
        out.append(StillnessRule(rules.stillness, zone, track_clear_s))
    return out


class Pipeline:
    """Analyses one camera's frames, in time order, and reports events to a sink.

    >>> pipe = Pipeline("cam-1", AnalyticsConfig(), custody=False, fps=5,
    ...                 detector=detector, sink=MemorySink())  # doctest: +SKIP
    >>> result = pipe.process(image, when)  # doctest: +SKIP
    >>> pipe.close(when)  # ends the events still open  # doctest: +SKIP
    """

    def __init__(
        self,
        camera_id: str,
        config: AnalyticsConfig,
        *,
        custody: bool,
        fps: float,
        detector: Detector | None,
        sink: EventSink,
        tracker: Tracker | None = None,
        tamper_reference: SceneFeatures | None = None,
        observers: Sequence[Callable[[FrameResult], None]] = (),
    ) -> None:
        self.camera_id = camera_id
        self.config = config
        self.mode = config.mode_for(custody)
        self.detector = detector
        self.sink = sink
        self.observers = list(observers)
        self.motion = MotionDetector(config.motion)
        clear = config.clear_s
        track_clear = max(clear, config.tracker.lost_timeout_s)
        self._slots: list[_Slot] = []
        for r in build_rules(config.rules, None, clear, track_clear):
            self._slots.append(_Slot(r, None, r.initial()))
        for zc in config.zones:
            zone = Zone(zc)
            for r in build_rules(zc.rules, zc.name, clear, track_clear):
                self._slots.append(_Slot(r, zone, r.initial()))
        self._tamper: _Slot | None = None
        if config.tamper is not None:
            rule = TamperRule(config.tamper, clear, tamper_reference)
            self._tamper = _Slot(rule, None, rule.initial())
        #: Detections are only worth their CPU when a rule or an observer reads them.
        self.needs_detections = bool(self._slots or self.observers)
        #: Nothing configured to judge frames: live analysis skips them.
        self.idle = not (self.needs_detections or self._tamper is not None)
        self._tracker = tracker
        self._fps = fps
        self._tracks = empty_tracks()
        self._last_detect: datetime | None = None
        #: Where each recent track was last seen (snapshots of people no longer detected).
        self._last_box: dict[int, np.ndarray] = {}
        self._open: dict[str, _Open] = {}
        self.frames = 0
        self.detector_calls = 0
        #: Smoothed wall time of one detector call (detection + tracking), for /metrics.
        self.detector_latency_ms: float | None = None
        self.events_opened = 0

    # -- the stages ----------------------------------------------------------------------

    def process(self, image: np.ndarray, when: datetime) -> FrameResult:
        """Analyse one BGR frame taken at ``when`` (aware UTC)."""
        self.frames += 1
        h, w = image.shape[:2]
        motion = self.motion.update(image, when.timestamp())
        detected = False
        if self.detector is not None and self.needs_detections and self._due(when, motion, (w, h)):
            started = time.perf_counter()
            detections = self._detect(image)
            self._tracks = self._track(detections, when)
            self._remember(self._tracks)
            ms = (time.perf_counter() - started) * 1000.0
            prev = self.detector_latency_ms
            self.detector_latency_ms = ms if prev is None else 0.8 * prev + 0.2 * ms
            self._last_detect = when
            self.detector_calls += 1
            detected = True
        tracks = self._tracks
        transitions: list[Transition] = []
        # Without a detector nobody is ever seen: person rules would only raise false alarms
        # (an "empty" room), so they and the observers wait for one; tamper runs regardless.
        seeing = self.detector is not None
        for slot in self._slots if seeing else ():
            inside = tracks
            if slot.zone is not None:
                inside = subset(tracks, slot.zone.contains(tracks, (w, h)))
            obs = Observation(when, slot.rule.zone, inside, (w, h), image)
            slot.state, out = slot.rule.step(slot.state, obs, when)
            transitions += out
        if self._tamper is not None:
            obs = Observation(when, None, tracks, (w, h), image)
            self._tamper.state, out = self._tamper.rule.step(self._tamper.state, obs, when)
            transitions += out
        if transitions:
            self._report(transitions, image, tracks)
        result = FrameResult(self.camera_id, when, motion, detected, tracks, transitions)
        for observer in self.observers if seeing else ():
            observer(result)
        return result

    def _detect(self, image: np.ndarray) -> sv.Detections:
        """Run the detector on the frame, or on its configured region (boxes mapped back)."""
        assert self.detector is not None
        region = self.config.region
        if region is None:
            return self.detector.detect(image)
        h, w = image.shape[:2]
        x1, y1 = round(region[0] * w), round(region[1] * h)
        x2, y2 = round(region[2] * w), round(region[3] * h)
        detections = self.detector.detect(np.ascontiguousarray(image[y1:y2, x1:x2]))
        detections.xyxy = detections.xyxy + np.array([x1, y1, x1, y1], dtype=np.float32)
        return detections

    def _due(self, when: datetime, motion: MotionResult, size: tuple[int, int]) -> bool:
        """Detect on every frame (steady), or on motion and at the minimum rate."""
        if self.mode is DetectMode.STEADY or self._last_detect is None:
            return True
        if when - self._last_detect >= timedelta(seconds=1.0 / self.config.min_detect_fps):
            return True
        boxes = self._tracks.xyxy / np.array([*size, *size], dtype=np.float64)
        return any(not _explained(r, boxes) for r in motion.regions)

    def _track(self, detections: sv.Detections, when: datetime) -> sv.Detections:
        if self._tracker is None:
            self._tracker = ByteTrackTracker(self.config.tracker, self._fps)
        tracks = self._tracker.update(detections, when.timestamp())
        return tracks

    # -- events --------------------------------------------------------------------------

    def _report(
        self, transitions: list[Transition], image: np.ndarray, tracks: sv.Detections
    ) -> None:
        cfg = self.config
        for t in transitions:
            if isinstance(t, Fired):
                rec_start, _ = recording_range(t.began, None, cfg.pre_roll_s, cfg.post_roll_s)
                record = EventRecord(
                    type=t.type,
                    camera_id=self.camera_id,
                    zone=t.zone,
                    start=t.start,
                    end=None,
                    track_ids=t.track_ids,
                    peak_count=t.count,
                    confidence=t.confidence,
                    began=t.began,
                    recording_start=rec_start,
                    recording_end=None,
                    severity=severity_of(t.type),
                    data=dict(t.data),
                )
                jpeg = self._snapshot(image, tracks, record) if cfg.snapshots else None
                handle = self.sink.opened(record, jpeg)
                self._open[t.key] = _Open(handle, record)
                self.events_opened += 1
                log.info(
                    "%s: %s%s fired (tracks %s)",
                    self.camera_id,
                    t.type,
                    f" in {t.zone}" if t.zone else "",
                    list(t.track_ids),
                )
            elif isinstance(t, Changed):
                if (o := self._open.get(t.key)) is not None:
                    o.record = replace(
                        o.record, track_ids=t.track_ids, peak_count=t.count, confidence=t.confidence
                    )
                    self.sink.updated(o.handle, o.record)
            elif isinstance(t, Ended) and (o := self._open.pop(t.key, None)) is not None:
                self._end(o, t.end)

    def _end(self, o: _Open, end: datetime, why: str | None = None) -> None:
        cfg = self.config
        _, rec_end = recording_range(o.record.began, end, cfg.pre_roll_s, cfg.post_roll_s)
        data = o.record.data if why is None else dict(o.record.data, ended_by=why)
        o.record = replace(o.record, end=end, recording_end=rec_end, data=data)
        self.sink.updated(o.handle, o.record)

    def close(self, when: datetime, why: str = "analysis stopped") -> None:
        """End every event still open at ``when`` (end of file, shutdown)."""
        for o in self._open.values():
            self._end(o, when, why)
        self._open.clear()

    def _remember(self, tracks: sv.Detections) -> None:
        ids = tracks.tracker_id if tracks.tracker_id is not None else np.empty(0, int)
        for box, tid in zip(tracks.xyxy, ids, strict=True):
            self._last_box[int(tid)] = box.copy()
        if len(self._last_box) > 256:  # keep the newest
            for tid in sorted(self._last_box)[: len(self._last_box) - 256]:
                del self._last_box[tid]

    def _snapshot(self, image: np.ndarray, tracks: sv.Detections, event: EventRecord) -> bytes:
        """A JPEG of the frame with every tracked box drawn, the event's tracks in red; an
        event's track not detected in this frame is drawn thin where it was last seen."""
        img = image.copy()
        h, w = img.shape[:2]
        thick = max(1, round(min(w, h) / 240))
        for slot in self._slots:
            if slot.zone is not None and slot.zone.name == event.zone:
                poly = slot.zone.pixels((w, h)).reshape(-1, 1, 2).astype(np.int32)
                cv2.polylines(img, [poly], True, (0, 215, 255), thick)
                break
        ids = tracks.tracker_id if tracks.tracker_id is not None else np.empty(0, int)
        involved = set(event.track_ids)
        for (x1, y1, x2, y2), tid in zip(tracks.xyxy.astype(int), ids, strict=True):
            colour = (0, 0, 255) if int(tid) in involved else (0, 200, 0)
            cv2.rectangle(img, (x1, y1), (x2, y2), colour, thick + 1)
            cv2.putText(
                img, f"#{tid}", (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1
            )
        for tid in sorted(involved - {int(i) for i in ids}):
            if (box := self._last_box.get(tid)) is not None:
                x1, y1, x2, y2 = (int(v) for v in box)
                cv2.rectangle(img, (x1, y1), (x2, y2), (0, 0, 255), 1)
                cv2.putText(
                    img,
                    f"#{tid} last seen",
                    (x1, max(12, y1 - 4)),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.5,
                    (0, 0, 255),
                    1,
                )
        label = f"{event.type} {event.zone or ''} {event.start:%Y-%m-%d %H:%M:%S} UTC"
        cv2.putText(img, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        return bytes(buf) if ok else b""


def _explained(region: tuple[float, float, float, float], boxes: np.ndarray) -> bool:
    """Motion (mostly) inside the box of a tracked object is that object moving in place,
    which the minimum rate keeps checking; anything else is new and wakes the detector."""
    x1, y1, x2, y2 = region
    area = max(1e-9, (x2 - x1) * (y2 - y1))
    for bx1, by1, bx2, by2 in boxes:
        iw = max(0.0, min(x2, bx2) - max(x1, bx1))
        ih = max(0.0, min(y2, by2) - max(y1, by1))
        if iw * ih >= _COVERED * area:
            return True
    return False


def pipeline_for(
    camera: CameraConfig,
    *,
    detector: Detector | None,
    sink: EventSink,
    fps: float | None = None,
    tracker: Tracker | None = None,
    observers: Sequence[Callable[[FrameResult], None]] = (),
) -> Pipeline:
    """The pipeline of a configured camera (``fps``: its analysis rate unless given)."""
    cfg = camera.analytics
    reference = None
    if cfg.tamper is not None and cfg.tamper.reference is not None:
        image = cv2.imread(str(cfg.tamper.reference))
        if image is None:
            raise ConfigError(
                f"cameras[{camera.id}].analytics.tamper.reference: cannot read the image "
                f"{cfg.tamper.reference}"
            )
        reference = scene_features(image)
    return Pipeline(
        camera.id,
        cfg,
        custody=camera.kind is CameraKind.CUSTODY,
        fps=fps or camera.analysis_fps or 5.0,
        detector=detector,
        sink=sink,
        tracker=tracker,
        tamper_reference=reference,
        observers=observers,
    )
