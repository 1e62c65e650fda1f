"""Analytics configuration: the detector (``Config.detector``) and each camera's analytics."""

from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from vms.vocab import SHARED_DATA, ConfigModel

#: Where the demo looks for a model: ../shared/data beside the checkout. The default detector
#: chosen by measurement (docs/benchmarks.md, "Analytics"): YOLO11n, QDQ int8, 320, ONNX
#: Runtime: 1/7.5 of the CPU of the int8 YOLOv8n at 640 with the same recall on whole frames,
#: and crops at its resolution where people are small.
DEMO_MODEL = SHARED_DATA / "models" / "yolo11n_int8qdq-fixed_320.onnx"

#: Custody cameras: never longer than this without a detection while anyone is in view.
CUSTODY_OCCUPIED_DETECT_S = 1.0

_ZONE_NAME = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$"


def demo_model_path() -> Path | None:
    """The shared test model if it is there (the demo uses it), else None."""
    path = DEMO_MODEL.resolve()
    return path if path.is_file() else None


class DetectorConfig(ConfigModel):
    """The object detector, one model per worker process shared by its cameras."""

    model: Path | None = Field(
        None,
        description=(
            "Model file: .onnx (ONNX Runtime), an OpenVINO folder or .xml (OpenVINO), or a "
            ".pt file (Ultralytics, torch); relative paths from the working directory. A pose "
            "model (COCO keypoints) also feeds person-down. Null: detection is off (motion and "
            "tamper still run) and the log says so. `vms models bench` compares candidates."
        ),
    )
    backend: str = Field(
        "auto",
        pattern=r"^(auto|onnxruntime|openvino|ultralytics)$",
        description=(
            "Runtime: auto (by file: .onnx ONNX Runtime, OpenVINO folder OpenVINO, .pt "
            "Ultralytics), onnxruntime, openvino (also runs .onnx files) or ultralytics."
        ),
    )
    classes: list[str] = Field(
        default_factory=lambda: ["person"],
        min_length=1,
        description="Class names to keep, as the model names them (COCO: person, car, ...).",
    )
    confidence: float = Field(
        0.1,
        gt=0,
        lt=1,
        description=(
            "Lowest confidence the detector reports. Weak detections only continue existing "
            "tracks (ByteTrack); starting a track takes tracker.start_confidence."
        ),
    )
    imgsz: int | None = Field(
        None,
        ge=32,
        le=4096,
        description=(
            "Model input size in pixels. Null: the model's own (a fixed-shape export takes "
            "only that; a dynamic one or a .pt any multiple of its stride, default 640)."
        ),
    )
    threads: int = Field(
        1,
        ge=1,
        le=64,
        description="CPU threads one detector call uses (ONNX Runtime / OpenVINO / torch).",
    )
    device: str = Field(
        "cpu",
        pattern=r"^[A-Za-z]+(:[0-9]+)?$",
        description=(
            "Where the model runs: cpu (the tested default); ONNX Runtime: cuda[:N], "
            "tensorrt[:N] (needs onnxruntime-gpu); OpenVINO: gpu[:N], npu, auto; Ultralytics: "
            "a torch device (cuda:0). An accelerator that is not there is said in the log and "
            "the model runs on CPU: never required."
        ),
    )


class DetectMode(StrEnum):
    """When the detector runs on an analysed frame."""

    MOTION = "motion"  # on motion, and at least every 1/min_detect_fps seconds
    STEADY = "steady"  # on every analysed frame


class CropConfig(ConfigModel):
    """Detect on crops around motion and tracks at the model's resolution (Frigate's
    approach) instead of the whole frame shrunk into the model, where that sees more."""

    enabled: bool = Field(True, description="Crop around motion and tracks; false: whole frames.")
    full_below: float = Field(
        1.5,
        ge=0,
        le=100,
        description=(
            "The whole frame is used as it is when fitting it into the model shrinks it at "
            "most this much (1.5: a 480-wide frame into a 320 model); crops see no more."
        ),
    )
    max_windows: int = Field(
        4,
        ge=1,
        le=64,
        description=(
            "Most crops per detector call of one camera; more motion than that is covered by "
            "coarser crops (shrunk more), up to the whole frame."
        ),
    )
    margin: float = Field(
        0.25,
        ge=0,
        le=5,
        description="Context around a box of interest, as a share of its size on each side.",
    )


class MotionConfig(ConfigModel):
    """Motion gate on a downscaled grey frame: what counts as something moving."""

    width: int = Field(320, ge=32, le=1920, description="Width the frame is scaled to, pixels.")
    threshold: int = Field(
        25, ge=1, le=255, description="Grey-level change (0-255) a pixel needs to count as moving."
    )
    min_area: float = Field(
        0.0005,
        ge=0,
        le=1,
        description="Smallest motion region, as a share of the frame area (noise is smaller).",
    )
    lighting_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description=(
            "A change over more than this share of the frame at once is lighting (lights on, "
            "sun, camera gain), not motion: the background is reset instead."
        ),
    )
    background_s: float = Field(
        1.0,
        gt=0,
        le=600,
        description=(
            "Time constant of the background, seconds: something that stops moving stops "
            "being motion after about this long (the tracker keeps it), and where it left "
            "is quiet again as fast."
        ),
    )


class TrackerConfig(ConfigModel):
    """ByteTrack plus a re-identification layer for short losses."""

    lost_timeout_s: float = Field(
        2.0,
        ge=0,
        le=60,
        description=(
            "A track lost for less than this that comes back near where it was keeps its id "
            "and its dwell clock."
        ),
    )
    reid_distance: float = Field(
        0.75,
        gt=0,
        le=5,
        description="How near 'near' is: distance of box centres as a share of the box height.",
    )
    start_confidence: float = Field(
        0.35,
        gt=0,
        lt=1,
        description="Confidence a detection needs to start (or firmly match) a track.",
    )
    match_threshold: float = Field(0.8, gt=0, le=1, description="ByteTrack matching threshold.")


class ScheduleConfig(ConfigModel):
    """A daily time window, e.g. 22:00-06:00 (crosses midnight), in a time zone."""

    start: time = Field(description="Start of the window, HH:MM local time.")
    end: time = Field(description="End of the window, HH:MM local time (before start: next day).")
    timezone: str = Field("UTC", description="IANA time zone of start and end, e.g. Asia/Shanghai.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def active(self, now: datetime) -> bool:
        """Is ``now`` (aware) inside the window?"""
        local = now.astimezone(ZoneInfo(self.timezone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class LoiteringConfig(ConfigModel):
    """A person stays in the zone longer than ``seconds`` (one event per person per visit)."""

    seconds: float = Field(60.0, gt=0, description="Dwell time that counts as loitering (T).")


class IntrusionConfig(ConfigModel):
    """A person in a restricted zone, optionally only inside a schedule."""

    seconds: float = Field(
        0.0, ge=0, description="How long someone must be inside before it counts (0: at once)."
    )
    schedule: ScheduleConfig | None = Field(
        None, description="Only within this daily window (e.g. 22:00-06:00); null: always."
    )


class CrowdingConfig(ConfigModel):
    """At least ``people`` persons in the zone for ``seconds``."""

    people: int = Field(3, ge=2, description="Crowd size (N).")
    seconds: float = Field(10.0, ge=0, description="How long the crowd must last (T).")
    window_s: float = Field(
        3.0,
        ge=0,
        le=600,
        description=(
            "Count smoothing: once the event is open, it holds while the largest count of "
            "the last window_s seconds is enough, so people the detector misses for a "
            "moment or re-finds under a new id do not end it (0: per frame)."
        ),
    )


class OccupancyConfig(ConfigModel):
    """Fewer than ``min`` or more than ``max`` persons in the zone for ``seconds``."""

    min: int | None = Field(None, ge=0, description="Fewest persons allowed (MIN); null: none.")
    max: int | None = Field(None, ge=0, description="Most persons allowed (MAX); null: none.")
    seconds: float = Field(10.0, ge=0, description="How long it must last (T).")
    window_s: float = Field(
        3.0,
        ge=0,
        le=600,
        description=(
            "Count smoothing: once an 'above' event is open, it holds while the largest count of "
            "the last window_s seconds is above max, so people the detector misses for a "
            "moment or re-finds under a new id do not end it (0: per frame)."
        ),
    )

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("occupancy needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"occupancy min ({self.min}) is above max ({self.max})")
        return self


class PersonDownConfig(ConfigModel):
    """A person down for T: a horizontal torso (pose keypoints), else a box wider than tall
    or a head dropped far below where it was when the same person stood, feet in place."""

    seconds: float = Field(5.0, ge=0, description="How long the person must be down (T).")
    aspect: float = Field(
        1.0, gt=0, description="Box width / height above which a person counts as lying."
    )
    drop: float = Field(
        0.5,
        gt=0,
        le=1,
        description=(
            "Top of the box this far below where it was when the person last stood upright "
            "(share of that standing height), feet in place: fallen."
        ),
    )


class StillnessConfig(ConfigModel):
    """A tracked person barely moving for T (custody: someone motionless in a cell)."""

    seconds: float = Field(60.0, gt=0, description="How long the person must be still (T).")
    max_move: float = Field(
        0.15, gt=0, description="Largest movement that is 'still', as a share of the box height."
    )


class RulesConfig(ConfigModel):
    """The rules of one zone (or of the whole frame); each is off when left out."""

    loitering: LoiteringConfig | None = Field(None, description="Loitering (dwell > T).")
    intrusion: IntrusionConfig | None = Field(None, description="Restricted-zone intrusion.")
    crowding: CrowdingConfig | None = Field(None, description="At least N people for T.")
    occupancy: OccupancyConfig | None = Field(None, description="Below MIN / above MAX for T.")
    person_down: PersonDownConfig | None = Field(None, description="Person lying for T.")
    stillness: StillnessConfig | None = Field(None, description="Person motionless for T.")

    @property
    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)


class ZoneConfig(ConfigModel):
    """A polygon in normalised coordinates (0-1, origin top left); a person is inside by the
    bottom centre of the box (the feet)."""

    name: str = Field(pattern=_ZONE_NAME, description="Zone name, unique per camera.")
    polygon: list[tuple[float, float]] = Field(
        min_length=3, description="Corners [[x, y], ...], each 0-1 of width / height."
    )
    rules: RulesConfig = Field(default_factory=RulesConfig, description="Rules for this zone.")

    @field_validator("polygon")
    @classmethod
    def _normalised(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for x, y in value:
            if not (0 <= x <= 1 and 0 <= y <= 1):
                raise ValueError(f"polygon corners must be within 0-1 (normalised), got [{x}, {y}]")
        return value


class TamperConfig(ConfigModel):
    """Camera tamper: lens covered or blacked out, image badly blurred, camera turned."""

    reference: Path | None = Field(
        None,
        description=(
            "Reference image of the camera's normal view; null: learned from the first "
            "normal-looking frame and slowly updated while nothing is wrong."
        ),
    )
    seconds: float = Field(5.0, ge=0, description="How long it must last (T).")
    dark_level: float = Field(
        20.0, ge=0, le=255, description="Mean grey level below which the image is blacked out."
    )
    flat_contrast: float = Field(
        6.0, ge=0, le=255, description="Grey standard deviation below which the lens is covered."
    )
    blur_ratio: float = Field(
        0.25, gt=0, lt=1, description="Sharpness below this share of the reference's is blurred."
    )
    min_similarity: float = Field(
        0.3,
        ge=-1,
        le=1,
        description="Scene correlation with the reference below which the camera was turned.",
    )
    max_shift: float = Field(
        0.1,
        gt=0,
        le=1,
        description="View shift against the reference (share of the frame) that means turned.",
    )


class AnalyticsConfig(ConfigModel):
    """One camera's analytics: motion -> detector -> tracker -> zones -> rules -> events."""

    enabled: bool = Field(True, description="Analyse this camera (needs analysis_fps > 0).")
    detect: DetectMode = Field(
        DetectMode.MOTION,
        description=(
            "'motion': detect on motion not explained by a tracked person, at least "
            "min_detect_fps, and while anyone is tracked at least every occupied_detect_s; "
            "'steady': every analysed frame."
        ),
    )
    min_detect_fps: float = Field(
        0.33,
        gt=0,
        le=60,
        description=(
            "Motion mode: the detector runs at least this often whatever the motion (0.33: "
            "every 3 s), so people standing or lying still are re-checked."
        ),
    )
    occupied_detect_s: float | None = Field(
        None,
        gt=0,
        le=60,
        description=(
            "While anyone is tracked, never longer than this without a detection, seconds "
            "(between detections the tracker carries the boxes of people who barely move). "
            "Default: 1 s for custody cameras, none for street cameras (min_detect_fps)."
        ),
    )
    crop: CropConfig = Field(
        default_factory=CropConfig, description="Crops around motion at model resolution."
    )
    clear_s: float = Field(
        2.0,
        ge=0,
        description=(
            "Hysteresis: a situation ends only after its condition has been false this long "
            "(one situation = one event)."
        ),
    )
    pre_roll_s: float = Field(
        5.0, ge=0, description="Recording range of an event starts this long before it began."
    )
    post_roll_s: float = Field(
        5.0, ge=0, description="Recording range of an event ends this long after it ended."
    )
    snapshots: bool = Field(True, description="Save a JPEG with boxes drawn when an event fires.")
    motion: MotionConfig = Field(default_factory=MotionConfig, description="Motion gate.")
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="Tracking.")
    rules: RulesConfig = Field(
        default_factory=RulesConfig, description="Rules over the whole frame (zone: none)."
    )
    zones: list[ZoneConfig] = Field(default_factory=list, description="Zones with their rules.")
    tamper: TamperConfig | None = Field(
        None, description="Camera-tamper checks against a reference image; null: off."
    )
    region: tuple[float, float, float, float] | None = Field(
        None,
        description=(
            "Detect only inside this rectangle [x1, y1, x2, y2] (normalised): it is cropped "
            "before detection, so the detector sees it larger. For skies, burned-in text, or "
            "one view of a side-by-side picture; null: the whole frame."
        ),
    )

    @field_validator("region")
    @classmethod
    def _region(
        cls, value: tuple[float, float, float, float] | None
    ) -> tuple[float, float, float, float] | None:
        if value is not None:
            x1, y1, x2, y2 = value
            if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
                raise ValueError(f"region must be [x1, y1, x2, y2] within 0-1, got {list(value)}")
        return value

    @model_validator(mode="after")
    def _unique_zones(self) -> Self:
        names = [z.name for z in self.zones]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"zone names must be unique per camera: {sorted(dup)}")
        return self

    def occupied_interval_for(self, custody: bool) -> float | None:
        """Longest time without a detection while anyone is tracked (custody default 1 s)."""
        if self.occupied_detect_s is not None:
            return self.occupied_detect_s
        return CUSTODY_OCCUPIED_DETECT_S if custody else None
