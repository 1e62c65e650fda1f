"""The ``bodyworn:`` section of the configuration: docks, upload deadline, retention, approvals."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from vms.vocab import ConfigModel

_DOCK_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
GIB = 1 << 30
MIB = 1 << 20


class Category(StrEnum):
    """Retention category of a body-worn file (MPS on-scene recording rules, 2016, art. 13)."""

    DEFAULT = "default"  # at least 6 months
    EVIDENCE = "evidence"  # used as evidence (set when the file is linked to a case)
    OBSTRUCTION = "obstruction"  # officers obstructed
    MAJOR_INCIDENT = "major_incident"  # major incident or mass event
    COMPLEX_CASE = "complex_case"


class DockConfig(ConfigModel):
    """A collection station: the folder its dock copies recorders' files into."""

    id: str = Field(pattern=_DOCK_ID, description="Short unique id of the station.")
    path: Path = Field(description="Folder the dock copies files into (may be a mount).")
    name: str = Field("", description="Human name (place of the station).")
    after_ingest: Literal["keep", "delete"] = Field(
        "keep",
        description=(
            "What happens to the dock's copy once the stored copy is hashed and indexed: "
            "keep it (the dock or its operator clears it) or delete it."
        ),
    )


class RetentionDaysConfig(ConfigModel):
    """Days to keep a body-worn file per retention category; null keeps it permanently."""

    default: int = Field(
        183, ge=1, description="Ordinary footage: at least 6 months (MPS 2016 art. 13)."
    )
    evidence: int | None = Field(None, ge=1, description="Used as evidence; null: permanent.")
    obstruction: int | None = Field(None, ge=1, description="Officers obstructed; null: permanent.")
    major_incident: int | None = Field(
        None, ge=1, description="Major incident or mass event; null: permanent."
    )
    complex_case: int | None = Field(None, ge=1, description="Complex case; null: permanent.")

    def days(self, category: Category | str) -> int | None:
        value: int | None = getattr(self, Category(category).value)
        return value


#: File-name conventions of common recorders: serial and local start time.
DEFAULT_NAME_PATTERNS = [
    r"^(?P<serial>[A-Za-z0-9-]{3,48})_(?P<start>\d{14})(?:_\d+)?\.[A-Za-z0-9]+$",
    r"^(?P<start>\d{8}_\d{6})_(?P<serial>[A-Za-z0-9-]{3,48})(?:_\d+)?\.[A-Za-z0-9]+$",
    r"^(?P<badge>\d{6,8})_(?P<serial>[A-Za-z0-9-]{3,48})_(?P<start>\d{14})(?:_\d+)?"
    r"\.[A-Za-z0-9]+$",
]


_SETTLE = (
    "A dock file is tried once its size and modification time have not changed for this long; "
    "the probe then checks that every sample its header declares is there."
)


class BodywornConfig(ConfigModel):
    """Body-worn recorders (执法记录仪): ingest, upload deadline, retention, approvals."""

    docks: list[DockConfig] = Field(
        default_factory=list,
        description="Collection stations whose folders are watched for new files.",
    )
    dock_scan_interval_s: float = Field(
        10.0, ge=0.5, description="How often dock folders are scanned, seconds."
    )
    settle_s: float = Field(5.0, ge=0, description=_SETTLE)
    upload_deadline_h: float = Field(
        24.0, gt=0, description="Upload within this many hours of the end of recording."
    )
    deadline_check_interval_s: float = Field(
        300.0, ge=5, description="How often late uploads and missing shift footage are checked."
    )
    retention_days: RetentionDaysConfig = Field(
        default_factory=RetentionDaysConfig,
        description="Days to keep a file per retention category (null: permanent).",
    )
    approval_hours: float = Field(
        24.0, gt=0, le=24 * 31, description="Default validity of an approval to view or copy."
    )
    max_approval_hours: float = Field(
        168.0, gt=0, le=24 * 366, description="Longest validity a supervisor may grant."
    )
    timezone: str = Field(
        "Asia/Shanghai",
        description="Zone of times written in file names (and metadata without a zone).",
    )
    metadata_local_time: bool = Field(
        False,
        description=(
            "The recorders write local time (bodyworn.timezone) into the file's creation_time "
            "instead of UTC as MP4/MOV specify."
        ),
    )
    name_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_NAME_PATTERNS),
        description=(
            "Recorders' file-name conventions (regular expressions) with named groups "
            "'serial', 'badge' and 'start' (YYYYMMDDhhmmss or YYYYMMDD_hhmmss, local time)."
        ),
    )
    video_codecs: list[str] = Field(
        default_factory=lambda: ["h264", "hevc"],
        description="Video codecs accepted as recorder footage (FFmpeg names).",
    )
    max_file_bytes: int = Field(
        64 * GIB, ge=MIB, description="Largest file accepted from any door, bytes."
    )
    upload_chunk_bytes: int = Field(
        8 * MIB,
        ge=64 * 1024,
        le=256 * MIB,
        description="Chunk size the web app uploads with (the API accepts any up to this).",
    )
    upload_expire_h: float = Field(
        72.0,
        gt=0,
        description="An upload left unfinished this long is given up and its bytes deleted.",
    )
    probe_timeout_s: float = Field(
        120.0, gt=0, description="Longest a file's probe (in a child process) may take."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from exc
        return value

    @field_validator("name_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for n, text in enumerate(value):
            try:
                rx = re.compile(text)
            except re.error as exc:
                raise ValueError(f"name_patterns[{n}] is not a regular expression: {exc}") from exc
            if "start" not in rx.groupindex and "serial" not in rx.groupindex:
                raise ValueError(
                    f"name_patterns[{n}] needs a named group 'start' (14 digits, local time) "
                    "or 'serial'"
                )
        return value

    @model_validator(mode="after")
    def _unique_docks(self) -> Self:
        seen: set[str] = set()
        for dock in self.docks:
            if dock.id in seen:
                raise ValueError(f"dock id {dock.id!r} is used twice")
            seen.add(dock.id)
        if self.approval_hours > self.max_approval_hours:
            raise ValueError("approval_hours must not exceed max_approval_hours")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def dock(self, dock_id: str) -> DockConfig:
        for dock in self.docks:
            if dock.id == dock_id:
                return dock
        known = ", ".join(d.id for d in self.docks) or "none"
        raise ValueError(f"no dock {dock_id!r} in the configuration (known: {known})")
