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

from vms.detection.backends import nms
from vms.detection.config import AnalyticsConfig, DetectMode, RulesConfig
from vms.detection.detections import concat, empty_tracks, subset
from vms.detection.detector import Detector, detect_all, input_size
from vms.detection.events import EventRecord, EventSink, recording_range
from vms.detection.motion import MotionDetector, MotionResult
from vms.detection.regions import PixelBox, Window, cover, plan_windows, whole
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
#: Detections from overlapping crops that overlap this much are one object.
_MERGE_IOU = 0.6
#: A box this close (pixels) to a crop's edge inside the frame may be cut off by the crop.
_EDGE_PX = 2.0


@dataclass(frozen=True)
class FrameResult:
    """What the pipeline made of one frame."""

    camera_id: str
    time: datetime
    motion: MotionResult
    detected: bool  # the detector ran on this frame
    tracks: sv.Detections  # tracked objects now (held from the last detector run)
    transitions: list[Transition] = field(default_factory=list)
    #: Where the detector looked (image pixels): crops, or the whole frame / region.
    windows: tuple[Window, ...] = ()

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


@dataclass(frozen=True)
class Work:
    """A frame between ``Pipeline.begin`` and ``Pipeline.end``: the crops the detector is to
    run on (none: no detection this frame). Cameras of one process batch their crops."""

    image: np.ndarray
    when: datetime
    motion: MotionResult
    windows: tuple[Window, ...]  # in image pixels
    crops: tuple[np.ndarray, ...]


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
        self.mode = config.detect
        self._occupied_s = config.occupied_interval_for(custody)
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
        self.detector_calls = 0  # frames the detector ran on
        self.detector_images = 0  # crops it ran on (one per window)
        #: Smoothed wall time of one detector call (detection + tracking), for /metrics.
        self.detector_latency_ms: float | None = None
        self.events_opened = 0

    # -- the stages ----------------------------------------------------------------------

    def process(self, image: np.ndarray, when: datetime) -> FrameResult:
        """Analyse one BGR frame taken at ``when`` (aware UTC)."""
        work = self.begin(image, when)
        started = time.perf_counter()
        found = detect_all(self.detector, work.crops) if work.crops and self.detector else []
        return self.end(work, found, started)

    def begin(self, image: np.ndarray, when: datetime) -> Work:
        """Motion, and where the detector is to look in this frame (``Work.crops``)."""
        self.frames += 1
        motion = self.motion.update(image, when.timestamp())
        windows: tuple[Window, ...] = ()
        if self.detector is not None and self.needs_detections:
            windows = tuple(self._plan(image, when, motion))
        crops = tuple(image[w.y1 : w.y2, w.x1 : w.x2] for w in windows)
        return Work(image, when, motion, windows, crops)

    def end(
        self, work: Work, found: Sequence[sv.Detections], started: float | None = None
    ) -> FrameResult:
        """Track the detections of ``work.crops`` (one per crop), apply the rules, report."""
        image, when, motion = work.image, work.when, work.motion
        h, w = image.shape[:2]
        detected = bool(work.windows)
        if detected:
            t0 = time.perf_counter() if started is None else started
            detections = self._merge(work.windows, found, (w, h))
            self._tracks = self._track(detections, when)
            self._remember(self._tracks)
            ms = (time.perf_counter() - t0) * 1000.0
            prev = self.detector_latency_ms
            self.detector_latency_ms = ms if prev is None else 0.8 * prev + 0.2 * ms
            self._last_detect = when
            self.detector_calls += 1
            self.detector_images += len(work.windows)
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
        result = FrameResult(
            self.camera_id, when, motion, detected, tracks, transitions, work.windows
        )
        for observer in self.observers if seeing else ():
            observer(result)
        return result

    # -- where to look ---------------------------------------------------------------------

    def _view(self, size: tuple[int, int]) -> Window:
        """The part of the frame analysed: the configured region, else all of it."""
        w, h = size
        region = self.config.region
        if region is None:
            return whole(size)
        return Window(
            round(region[0] * w), round(region[1] * h), round(region[2] * w), round(region[3] * h)
        )

    def _plan(self, image: np.ndarray, when: datetime, motion: MotionResult) -> list[Window]:
        """The windows (image pixels) to detect on now; none when no detection is due."""
        h, w = image.shape[:2]
        reason = self._due(when, motion, (w, h))
        if reason is None:
            return []
        view = self._view((w, h))
        vsize = (view.width, view.height)
        model = input_size(self.detector)
        crop = self.config.crop
        if model is None or not crop.enabled or reason in ("first", "steady", "refresh"):
            local = (
                [whole(vsize)]
                if model is None or not crop.enabled
                else cover(vsize, model, full_below=crop.full_below, max_windows=crop.max_windows)
            )
        else:
            moved = self._unexplained(motion, (w, h), view)
            boxes = list(moved)
            # The tracked people due a re-check: all of them (occupied room), or those the
            # new motion touches (they are walking: see where they went).
            for b in self._tracks.xyxy:
                box = _shift(tuple(b), -view.x1, -view.y1)
                if reason == "occupied" or any(_touch(box, m) for m in moved):
                    boxes.append(box)
            local = plan_windows(
                boxes,
                vsize,
                model,
                full_below=crop.full_below,
                max_windows=crop.max_windows,
                margin=crop.margin,
            )
            if not local:  # due, nothing in particular to look at: the whole view
                local = cover(
                    vsize, model, full_below=crop.full_below, max_windows=crop.max_windows
                )
        return [
            Window(v.x1 + view.x1, v.y1 + view.y1, v.x2 + view.x1, v.y2 + view.y1) for v in local
        ]

    def _due(self, when: datetime, motion: MotionResult, size: tuple[int, int]) -> str | None:
        """Why the detector runs on this frame, if it does: every frame (steady), the first,
        the minimum rate, an occupied room's interval, or motion no tracked person explains."""
        if self.mode is DetectMode.STEADY:
            return "steady"
        if self._last_detect is None:
            return "first"
        since = when - self._last_detect
        if since >= timedelta(seconds=1.0 / self.config.min_detect_fps):
            return "refresh"
        if (
            self._occupied_s is not None
            and len(self._tracks)
            and since >= timedelta(seconds=self._occupied_s - 1e-6)
        ):
            return "occupied"
        boxes = self._tracks.xyxy / np.array([*size, *size], dtype=np.float64)
        if any(not _explained(r, boxes) for r in motion.regions):
            return "motion"
        return None

    def _unexplained(
        self, motion: MotionResult, size: tuple[int, int], view: Window
    ) -> list[PixelBox]:
        """Motion no tracked person explains, in pixels of the view (clipped to it)."""
        w, h = size
        boxes = self._tracks.xyxy / np.array([*size, *size], dtype=np.float64)
        out: list[PixelBox] = []
        for r in motion.regions:
            if _explained(r, boxes):
                continue
            x1, y1 = max(r[0] * w, view.x1), max(r[1] * h, view.y1)
            x2, y2 = min(r[2] * w, view.x2), min(r[3] * h, view.y2)
            if x2 > x1 and y2 > y1:
                out.append((x1 - view.x1, y1 - view.y1, x2 - view.x1, y2 - view.y1))
        return out

    def _merge(
        self, windows: Sequence[Window], found: Sequence[sv.Detections], size: tuple[int, int]
    ) -> sv.Detections:
        """Detections of each window in image pixels, one per object, plus the tracks no
        window covered (carried as they were: nobody looked there)."""
        view = self._view(size)
        vsize = (view.width, view.height)
        cropped = len(windows) > 1 or windows[0] != view
        fresh = merge_crops(windows, found, view)
        fresh.data["carried"] = np.zeros(len(fresh), bool)
        if not cropped or not len(self._tracks):
            return fresh
        covered = np.array(
            [_covers(windows, tuple(b), view, vsize) for b in self._tracks.xyxy], bool
        )
        if covered.all():
            return fresh
        carried = subset(self._tracks, ~covered)
        carried.data["carried"] = np.ones(len(carried), bool)
        return concat([fresh, carried])

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


def merge_crops(
    windows: Sequence[Window], found: Sequence[sv.Detections], view: Window
) -> sv.Detections:
    """The detections of each window (found in its crop) in image pixels, one per object:
    boxes cut off by a window's edge inside the ``view`` are dropped (a neighbouring window
    or the carried track has them) and duplicates from overlapping windows merged."""
    vsize = (view.width, view.height)
    cropped = len(windows) > 1 or windows[0] != view
    parts: list[sv.Detections] = []
    for win, det in zip(windows, found, strict=True):
        det = _offset(det, win.x1, win.y1)
        if cropped and len(det):
            local = Window(win.x1 - view.x1, win.y1 - view.y1, win.x2 - view.x1, win.y2 - view.y1)
            det = subset(det, ~_at_inner_edge(det.xyxy - [view.x1, view.y1] * 2, local, vsize))
        parts.append(det)
    fresh = concat(parts)
    if len(parts) > 1 and len(fresh) > 1:
        fresh = subset(fresh, _dedupe(fresh))
    return fresh


def _shift(box: tuple[float, ...], dx: float, dy: float) -> PixelBox:
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def _offset(det: sv.Detections, dx: int, dy: int) -> sv.Detections:
    """Boxes (and keypoints) of a crop's detections in pixels of the frame."""
    if not (dx or dy) or not len(det):
        return det
    det.xyxy = det.xyxy + np.array([dx, dy, dx, dy], dtype=det.xyxy.dtype)
    if "keypoints" in det.data:
        kps = np.array(det.data["keypoints"], dtype=np.float32)
        kps[..., 0] += dx
        kps[..., 1] += dy
        det.data["keypoints"] = kps
    return det


def _touch(a: PixelBox, b: PixelBox) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _at_inner_edge(xyxy: np.ndarray, win: Window, size: tuple[int, int]) -> np.ndarray:
    """Boxes touching an edge of the window that lies inside the frame: perhaps cut off."""
    left, top, right, bottom = win.inner_edges(size)
    e = _EDGE_PX
    cut = np.zeros(len(xyxy), bool)
    if left:
        cut |= xyxy[:, 0] <= win.x1 + e
    if top:
        cut |= xyxy[:, 1] <= win.y1 + e
    if right:
        cut |= xyxy[:, 2] >= win.x2 - e
    if bottom:
        cut |= xyxy[:, 3] >= win.y2 - e
    return cut


def _covers(
    windows: Sequence[Window], box: tuple[float, ...], view: Window, size: tuple[int, int]
) -> bool:
    """Did a window see all of ``box`` (image pixels), away from its cut edges?"""
    local = _shift(box, -view.x1, -view.y1)
    for win in windows:
        lw = Window(win.x1 - view.x1, win.y1 - view.y1, win.x2 - view.x1, win.y2 - view.y1)
        if lw.contains(local) and not _at_inner_edge(np.array([local]), lw, size)[0]:
            return True
    return False


def _dedupe(det: sv.Detections) -> np.ndarray:
    """Indices to keep of detections from overlapping crops: the most confident of each
    group of same-class boxes overlapping more than _MERGE_IOU."""
    conf = det.confidence if det.confidence is not None else np.ones(len(det), np.float32)
    cls = det.class_id if det.class_id is not None else np.zeros(len(det), int)

    return np.sort(nms(det.xyxy + (cls * 1e5)[:, None], conf, _MERGE_IOU))


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
