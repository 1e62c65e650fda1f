"""The shared vocabulary: names every subsystem uses, in one leaf module that imports no vms code.

- ``ConfigModel``: the base of every configuration section (``extra="forbid"``, frozen).
- ``View``, ``view_from`` and ``jsonable``: the base of every typed result view, a view built
  from an object's same-named attributes, and the one serialiser.
- ``CameraKind``, ``RoomType``: what a camera is and which custody space it covers.
- ``EventType``, ``CustodyAlertType``, ``Severity`` and ``severity_of``: the rows of the
  ``events`` and ``custody_alerts`` tables.
- ``Subsystem``: the context an error carries (``errors.NotFoundError(..., subsystem=...)``).
- ``sha256_file``: the one way a file's evidence hash is computed.
- ``SHARED_DATA``: where the shared footage and models are (``../shared/data`` beside the
  checkout), for the demo and the detector's default model.

A new kind of event or custody alert is added here, with its severity, and nowhere else.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python

#: ``../shared/data`` beside the checkout: this file is ``<checkout>/vms/vocab.py``.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class ConfigModel(BaseModel):
    """Base of every configuration model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class View(BaseModel):
    """Base of every typed view of a result (a row as the CLI, the web and the feeds show it).

    Built from an ORM row or a dataclass with ``View.model_validate(obj)``; serialised one way
    everywhere: by FastAPI (``response_model``) on the web, by :func:`jsonable` elsewhere.
    """

    model_config = ConfigDict(from_attributes=True, frozen=True, populate_by_name=True)


_M = TypeVar("_M", bound=BaseModel)


def view_from(model: type[_M], obj: object, **given: Any) -> _M:
    """``model`` built from ``obj``'s attributes of the same names, with ``given`` fields
    (renamed or computed ones) taken as given."""
    data = {
        name: getattr(obj, name)
        for name in model.model_fields
        if name not in given and hasattr(obj, name)
    }
    return model.model_validate({**data, **given})


def jsonable(value: object) -> Any:
    """Any result (a ``View``, a dataclass, lists and dicts of them, datetimes, enums) as
    JSON-ready data, exactly as the web API serialises it: the CLI's ``--json`` uses it."""
    return to_jsonable_python(value, by_alias=True)


class CameraKind(StrEnum):
    STREET = "street"
    CUSTODY = "custody"
    #: A body-worn recorder (执法记录仪) in the index: registered as a device
    #: (vms.bodyworn), never configured under ``cameras:``; its files are its segments.
    BODYWORN = "bodyworn"


class RtspReader(StrEnum):
    """Who reads an ``rtsp://`` camera (``cameras[].rtsp_reader``, vms.cameras.sources)."""

    #: vms's own reader (vms.cameras.rtsp) for a camera without sound, libavformat otherwise.
    AUTO = "auto"
    #: vms's reader for every camera whose codecs it reads; libavformat for the others.
    VMS = "vms"
    #: Always libavformat.
    FFMPEG = "ffmpeg"


class RoomType(StrEnum):
    """The seven spaces of a custody area ("six rooms and one hall"), see docs/custody.md."""

    DUTY = "duty"
    HOLDING = "holding"
    INTERROGATION = "interrogation"
    INQUIRY = "inquiry"
    MEDIATION = "mediation"
    CELL = "cell"
    SERVICE_HALL = "service_hall"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class EventType(StrEnum):
    """Every ``events.type`` vms writes."""

    # analytics rules (vms.detection.rules)
    LOITERING = "loitering"
    INTRUSION = "intrusion"
    CROWDING = "crowding"
    OCCUPANCY = "occupancy"
    PERSON_DOWN = "person_down"
    STILLNESS = "stillness"
    TAMPER = "tamper"
    # recording and operations
    CAMERA_OFFLINE = "camera_offline"
    CAMERA_UNHEALTHY = "camera_unhealthy"
    SEGMENT_HASH_MISMATCH = "segment_hash_mismatch"
    STORAGE_FULL = "storage_full"
    STORAGE_FULL_HELD_ONLY = "storage_full_held_only"
    # body-worn footage (vms.bodyworn)
    BODYWORN_LATE_UPLOAD = "bodyworn_late_upload"
    BODYWORN_NO_FOOTAGE = "bodyworn_no_footage"


class CustodyAlertType(StrEnum):
    """Every ``custody_alerts.type`` the custody rules (vms.custody.rules) raise."""

    LEGAL_WARNING = "legal_clock_warning"
    LEGAL_LIMIT = "legal_clock_limit"
    RESUMMONS = "resummons"
    TWO_OFFICER = "two_officer"
    PERSON_ALONE = "person_alone"
    PERSON_DOWN = "person_down"
    STILLNESS = "stillness"
    OBSERVATION_OVERDUE = "observation_overdue"
    ROOM_WITHOUT_VIDEO = "room_without_video"
    RECORDING_INCOMPLETE = "recording_incomplete"
    NO_SOUND = "no_sound"


#: One table for both: a custody alert named like an analytics event has its severity.
_SEVERITY: dict[str, Severity] = {
    EventType.LOITERING: Severity.INFO,
    EventType.INTRUSION: Severity.WARNING,
    EventType.CROWDING: Severity.WARNING,
    EventType.OCCUPANCY: Severity.WARNING,
    EventType.PERSON_DOWN: Severity.CRITICAL,
    EventType.STILLNESS: Severity.WARNING,
    EventType.TAMPER: Severity.WARNING,
    EventType.CAMERA_OFFLINE: Severity.CRITICAL,
    EventType.CAMERA_UNHEALTHY: Severity.CRITICAL,
    EventType.SEGMENT_HASH_MISMATCH: Severity.CRITICAL,
    EventType.STORAGE_FULL: Severity.CRITICAL,
    EventType.STORAGE_FULL_HELD_ONLY: Severity.CRITICAL,
    CustodyAlertType.LEGAL_WARNING: Severity.WARNING,
    CustodyAlertType.LEGAL_LIMIT: Severity.CRITICAL,
    CustodyAlertType.RESUMMONS: Severity.WARNING,
    CustodyAlertType.TWO_OFFICER: Severity.CRITICAL,
    CustodyAlertType.PERSON_ALONE: Severity.WARNING,
    CustodyAlertType.OBSERVATION_OVERDUE: Severity.WARNING,
    CustodyAlertType.ROOM_WITHOUT_VIDEO: Severity.CRITICAL,
    CustodyAlertType.RECORDING_INCOMPLETE: Severity.CRITICAL,
    CustodyAlertType.NO_SOUND: Severity.CRITICAL,
    EventType.BODYWORN_LATE_UPLOAD: Severity.WARNING,
    EventType.BODYWORN_NO_FOOTAGE: Severity.WARNING,
}


def severity_of(kind: str) -> Severity:
    """The severity of an event type or a custody alert type; an unknown one (an older row)
    is ``info``."""
    return _SEVERITY.get(str(kind), Severity.INFO)


class Subsystem(StrEnum):
    """Where an error came from: context on the error, never a branch of the error tree."""

    CONFIG = "config"
    RECORDING = "recording"
    ANALYTICS = "analytics"
    CUSTODY = "custody"
    EVIDENCE = "evidence"
    WEB = "web"
    OPS = "ops"
    BODYWORN = "bodyworn"
    STORAGE = "storage"
    CLUSTER = "cluster"


_HASH_CHUNK = 1 << 20


def sha256_file(path: Path) -> tuple[str, int]:
    """(hex SHA-256, size in bytes) of a file."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size
