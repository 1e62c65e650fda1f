"""Configuration: one YAML file validated with pydantic; errors name their YAML path."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from vms.bodyworn.config import BodywornConfig
from vms.cameras.gb28181.config import Gb28181Config
from vms.custody.config import CustodyConfig
from vms.detection.config import AnalyticsConfig, DetectorConfig, demo_model_path
from vms.errors import ConfigError
from vms.evidence.config import EvidenceConfig
from vms.i18n import (
    DEFAULT_LANGUAGE,
    DEFAULT_TIMEZONE,
    Texts,
    check_language,
    check_timezone,
    texts_for,
)
from vms.ops.config import OpsConfig
from vms.safe_yaml import LIMITS, load_yaml
from vms.vocab import CameraKind, ConfigModel, RoomType, RtspReader

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CAMERA_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_Loc = tuple[int | str, ...]


class ReconnectConfig(ConfigModel):
    """How a camera worker reconnects after a failure: exponential backoff with jitter."""

    initial_s: float = Field(1.0, gt=0, description="First wait after a failure, seconds.")
    max_s: float = Field(30.0, gt=0, description="Longest wait between two attempts, seconds.")
    factor: float = Field(2.0, ge=1.0, description="Each failed attempt multiplies the wait.")
    jitter: float = Field(
        0.2, ge=0, le=1, description="Random share added or taken from each wait (0.2 = ±20 %)."
    )


class CameraConfig(ConfigModel):
    """One camera and how it is recorded."""

    id: str = Field(
        pattern=_CAMERA_ID,
        description="Short unique id (lower case, digits, '-', '_'); used in folder names.",
    )
    name: str = Field("", description="Human name shown to users.")
    kind: CameraKind = Field(description="'street' or 'custody'.")
    site: str = Field(description="Place: police station, custody area or street location.")
    room: str | None = Field(None, description="Custody cameras: name of the room it covers.")
    room_type: RoomType | None = Field(
        None, description="Custody cameras: one of the seven custody-area space types."
    )
    source: str = Field(
        description=(
            "rtsp://, http(s)://, a local file path (or file://), synthetic://NAME, or "
            "gb28181://DEVICE_ID/CHANNEL_ID (a channel of a registered GB/T 28181 device). "
            "Credentials come from environment variables: rtsp://${CAM_USER}:${CAM_PASS}@host/..."
        )
    )
    record: bool = Field(True, description="Record this camera's stream to segment files.")
    node: str | None = Field(
        None,
        pattern=_CAMERA_ID,
        description="Cluster: the node that records this camera while it is alive (pinning).",
    )
    segment_seconds: float = Field(
        60.0, ge=1, le=3600, description="Target segment length; each segment starts at a keyframe."
    )
    retention_days: int | None = Field(
        None, ge=1, description="Days to keep footage; default evidence.retention_days of its kind."
    )
    analysis_fps: float = Field(
        5.0, ge=0, le=60, description="Frames per second decoded for analysis; 0 turns it off."
    )
    loop: bool = Field(False, description="File sources: start again at the end of the file.")
    native_speed: bool = Field(
        True, description="File sources: deliver packets at the file's own frame rate."
    )
    stall_timeout_s: float = Field(
        10.0, gt=0, description="No packet for this long counts as an outage."
    )
    rtsp_reader: RtspReader = Field(
        RtspReader.AUTO,
        description="rtsp:// cameras: who reads the stream. 'auto': vms's own RTSP reader "
        "(about a third less CPU per packet) for a camera without sound, libavformat for one "
        "with sound; 'vms': vms's reader for every camera whose codecs it reads (H.264, H.265, "
        "AAC, G.711); 'ffmpeg': always libavformat. Either way the packets are the camera's.",
    )
    reconnect: ReconnectConfig = Field(default_factory=ReconnectConfig)
    analytics: AnalyticsConfig = Field(
        default_factory=AnalyticsConfig,
        description="Analytics: zones and rules, detection mode, tamper (docs/analytics.md).",
    )

    @model_validator(mode="after")
    def _check_kind(self) -> Self:
        if self.kind is CameraKind.BODYWORN:
            raise ValueError(
                "body-worn recorders are not configured as cameras: register them with "
                "`vms devices add SERIAL` (docs/bodyworn.md)"
            )
        if self.kind is CameraKind.CUSTODY:
            if self.room_type is None:
                raise ValueError(f"custody cameras need room_type (one of: {_room_types()})")
            if not self.room:
                raise ValueError("custody cameras need room (the room's name)")
        elif self.room_type is not None:
            raise ValueError("room_type is only for custody cameras (kind: custody)")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.id


def _room_types() -> str:
    return ", ".join(t.value for t in RoomType)


class ObjectStoreConfig(ConfigModel):
    """``storage.object_store:``: an S3-compatible bucket finished files move to (MinIO, Ceph
    RGW, SeaweedFS, a cloud bucket)."""

    endpoint: str = Field(
        pattern=r"^https?://",
        description="S3 endpoint URL, e.g. https://minio.police.local:9000.",
    )
    bucket: str = Field(
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="Bucket name (S3 rules)."
    )
    region: str = Field("us-east-1", description="Region name the store expects.")
    access_key: str = Field(
        description="Access key id; write ${VMS_S3_ACCESS_KEY}: it comes from the environment."
    )
    secret_key: str = Field(
        description="Secret key; write ${VMS_S3_SECRET_KEY}: it comes from the environment."
    )
    prefix: str = Field(
        "", pattern=r"^([A-Za-z0-9._-]+/)*$", description="Key prefix inside the bucket (a/b/)."
    )
    create_bucket: bool = Field(
        True, description="Create the bucket (with object lock) at start-up if it is missing."
    )
    object_lock: bool = Field(
        True,
        description=(
            "Put an S3 legal hold on held objects when the bucket has object lock enabled "
            "(the index's hold check applies always)."
        ),
    )
    upload_after_s: float = Field(
        0.0, ge=0, description="A finished file moves to the bucket once it is this old."
    )
    interval_s: float = Field(10.0, gt=0, description="How often the tiering job runs.")
    batch: int = Field(200, ge=1, le=10000, description="Files moved per run at most.")
    verify_read_back: bool = Field(
        False,
        description=(
            "Also read each uploaded object back and hash it before the local copy is "
            "deleted (the store already checks the SHA-256 sent with the upload)."
        ),
    )
    timeout_s: float = Field(30.0, gt=0, description="Connect and read timeout per request.")


class StorageConfig(ConfigModel):
    root: Path = Field(Path("./data"), description="Folder for recordings and the SQLite index.")
    object_store: ObjectStoreConfig | None = Field(
        None,
        description=(
            "An S3 bucket finished segments, clips and exports move to (docs/scale-out.md); "
            "null: everything stays under root."
        ),
    )


class DatabaseConfig(ConfigModel):
    url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL. Default: SQLite file <storage.root>/vms.db. PostgreSQL: "
            "postgresql+psycopg://user:${VMS_DB_PASSWORD}@host/vms"
        ),
    )
    partitions_ahead_days: int = Field(
        7,
        ge=1,
        le=90,
        description=(
            "PostgreSQL: day partitions of segments, gaps and events made this many days "
            "ahead (vms.db.partitions); a row outside them waits in the default partition."
        ),
    )
    partitions_reorder_after_days: int = Field(
        1,
        ge=0,
        description=(
            "PostgreSQL: a day partition this many days old is rewritten once in (camera, "
            "start) order, so a camera's day reads from neighbouring pages; 0: never."
        ),
    )
    partitions_interval_s: float = Field(
        3600.0, gt=0, description="PostgreSQL: how often the partitions job runs."
    )


class WorkersConfig(ConfigModel):
    cameras_per_process: int = Field(
        1,
        ge=1,
        le=256,
        description="Cameras sharing one worker process (1 isolates each). A recording node "
        "runs 10-25: each process costs about 25 MB, each camera about 3.5 MB more.",
    )
    health_interval_s: float = Field(1.0, gt=0, description="How often workers report health.")
    connects_at_once: int = Field(
        4,
        ge=1,
        le=256,
        description="Cameras of one worker process that connect at the same time; the others "
        "wait their turn, so many cameras starting together do not all time out.",
    )
    trim_memory_s: float = Field(
        30.0,
        ge=0,
        description="How often a worker process gives the memory its cameras freed back to "
        "the system (glibc's malloc_trim; vms.cameras.memory); 0: never.",
    )
    malloc_arenas: int = Field(
        2,
        ge=0,
        le=64,
        description="The most malloc arenas a worker process's cameras share (glibc's "
        "M_ARENA_MAX; vms.cameras.memory): fewer arenas, less memory held between trims; "
        "0: glibc's default (8 per core).",
    )
    stop_s_per_camera: float = Field(
        1.5,
        gt=0,
        description="Time a worker process gets to close each camera's segment (fsync, "
        "SHA-256) at shutdown, on top of 20 s; a process still running after that is killed.",
    )


class LoginThrottleConfig(ConfigModel):
    """Failed logins per user name and per address: a growing delay, then a lockout."""

    delay_after: int = Field(
        3, ge=1, description="Failed logins before each further try must wait (1, 2, 4 ... s)."
    )
    max_delay_s: float = Field(60.0, gt=0, description="Longest wait between two tries, s.")
    lockout_after: int = Field(
        10, ge=2, description="Failed logins that lock the user name or address out."
    )
    lockout_s: float = Field(900.0, gt=0, description="How long a lockout lasts, seconds.")
    window_s: float = Field(
        900.0, gt=0, description="Failures older than this (since the last one) are forgotten."
    )


class WebConfig(ConfigModel):
    """The web application (FastAPI, served by ``vms serve`` and ``vms demo``)."""

    enabled: bool = Field(True, description="Serve the web application beside recording.")
    host: str = Field(
        "127.0.0.1", description="Address to listen on (127.0.0.1: this machine only)."
    )
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0: any free port).")
    secure_cookies: bool = Field(
        True,
        description="Mark the login cookie Secure (sent over HTTPS only); off only for the demo.",
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="A login lasts this long.")
    viewing_cache_mb: int = Field(
        2048,
        ge=64,
        description="Viewing copies (segments transcoded for a browser that cannot play them "
        "as recorded) are kept up to this size under <root>/cache/viewing, oldest out first.",
    )
    login_throttle: LoginThrottleConfig = Field(
        default_factory=LoginThrottleConfig,
        description="Failed logins: growing delay and temporary lockout (docs/security.md).",
    )


class SiteConfig(ConfigModel):
    """Where vms runs: the time zone its people read times in and their default language."""

    timezone: str = Field(
        DEFAULT_TIMEZONE,
        description="IANA time zone times are shown in (stored in UTC): Asia/Shanghai.",
    )
    language: str = Field(
        DEFAULT_LANGUAGE,
        description=(
            "Language of documents (briefing, interview report) and of pages for a user who "
            "chose none and whose browser asks for neither: zh-CN or en."
        ),
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return check_language(value)


class NodeConfig(ConfigModel):
    """This ``vms serve`` as a node of a cluster sharing one PostgreSQL (docs/scale-out.md)."""

    id: str | None = Field(
        None,
        pattern=_CAMERA_ID,
        description="Node id (lower case, digits, '-', '_'); default: the host name.",
    )
    max_cameras: int | None = Field(
        None, ge=0, description="Most cameras this node records at once; null: no limit."
    )
    heartbeat_s: float = Field(
        5.0, gt=0, le=60, description="How often the node renews its heartbeat and leases."
    )
    lease_s: float = Field(
        15.0,
        gt=0,
        le=600,
        description="A lease not renewed for this long is lost; live nodes take it over.",
    )

    @model_validator(mode="after")
    def _lease_longer(self) -> Self:
        if self.lease_s < 2 * self.heartbeat_s:
            raise ValueError("lease_s must be at least twice heartbeat_s")
        return self


def default_node_id() -> str:
    """The host name, folded to a valid node id."""
    import socket

    name = re.sub(r"[^a-z0-9_-]+", "-", socket.gethostname().lower()).strip("-_")
    return (name or "node")[:63]


class Config(ConfigModel):
    """The whole vms configuration file."""

    site: SiteConfig = Field(default_factory=SiteConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    workers: WorkersConfig = Field(default_factory=WorkersConfig)
    node: NodeConfig = Field(
        default_factory=NodeConfig,
        description="This process as a node of a cluster (id, capacity, heartbeat, leases).",
    )
    web: WebConfig = Field(default_factory=WebConfig)
    cameras: Annotated[list[CameraConfig], Field(default_factory=list)]
    detector: DetectorConfig = Field(
        default_factory=DetectorConfig,
        description="The object detector (model file, classes, confidence); null model: off.",
    )
    custody: CustodyConfig = Field(
        default_factory=CustodyConfig,
        description="Custody areas: extra rooms, legal limits and alert rules (docs/custody.md).",
    )
    evidence: EvidenceConfig = Field(default_factory=EvidenceConfig)
    ops: OpsConfig = Field(
        default_factory=OpsConfig,
        description="Scheduled jobs, the daily briefing, logs (docs/operations.md).",
    )
    bodyworn: BodywornConfig = Field(
        default_factory=BodywornConfig,
        description="Body-worn footage: docks, upload deadline, retention (docs/bodyworn.md).",
    )
    gb28181: Gb28181Config = Field(
        default_factory=Gb28181Config,
        description="The GB/T 28181 platform devices register with (docs/gb28181.md).",
    )

    @model_validator(mode="after")
    def _cluster_needs_postgres(self) -> Self:
        pinned = [c.id for c in self.cameras if c.node is not None]
        if self.database_url.startswith("sqlite") and (pinned or self.node.max_cameras):
            what = f"cameras[].node ({', '.join(pinned)})" if pinned else "node.max_cameras"
            raise ValueError(
                f"{what} describes several recorder nodes, which share one PostgreSQL index; "
                "SQLite is the single-node index. Set database.url to PostgreSQL "
                "(postgresql+psycopg://...) or remove the node settings"
            )
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for cam in self.cameras:
            if cam.id in seen:
                raise ValueError(f"camera id {cam.id!r} is used twice")
            seen.add(cam.id)
        return self

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.storage.root / 'vms.db').resolve()}"

    def texts(self, language: str | None = None) -> Texts:
        """Messages in ``language`` (default: the site's), times in the site's zone."""
        return texts_for(language or self.site.language, self.site.timezone)

    @property
    def node_id(self) -> str:
        """This node's id: ``node.id``, else the host name."""
        return self.node.id or default_node_id()

    @property
    def recordings_dir(self) -> Path:
        return self.storage.root / "recordings"

    def retention_days_of(self, cam: CameraConfig) -> int:
        """Days to keep a camera's footage: its own setting, else its kind's default."""
        if cam.retention_days is not None:
            return cam.retention_days
        by_kind = self.evidence.retention_days
        return by_kind.custody if cam.kind is CameraKind.CUSTODY else by_kind.street

    def camera(self, camera_id: str) -> CameraConfig:
        for cam in self.cameras:
            if cam.id == camera_id:
                return cam
        known = ", ".join(c.id for c in self.cameras) or "none"
        raise ConfigError(f"no camera {camera_id!r} in the configuration (known: {known})")


# --- loading ---------------------------------------------------------------------------


def format_path(loc: tuple[int | str, ...]) -> str:
    """('cameras', 2, 'source') -> 'cameras[2].source'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def _expand_env(value: Any, loc: _Loc, problems: list[tuple[_Loc, str]]) -> Any:
    """Replace ${VAR} in every string with the environment variable's value."""
    if isinstance(value, dict):
        return {k: _expand_env(v, (*loc, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, (*loc, i), problems) for i, v in enumerate(value)]
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                problems.append((loc, f"environment variable {name} is not set"))
                return ""
            return os.environ[name]

        return _ENV_REF.sub(sub, value)
    return value


def _literal_secrets(raw: Any, problems: list[tuple[_Loc, str]]) -> None:
    """Refuse passwords written into the YAML: they belong in environment variables."""
    store = raw.get("storage", {}) if isinstance(raw, dict) else {}
    store = store.get("object_store") if isinstance(store, dict) else None
    if isinstance(store, dict):
        for name in ("access_key", "secret_key"):
            value = store.get(name)
            if isinstance(value, str) and not _ENV_REF.fullmatch(value):
                problems.append(
                    (
                        ("storage", "object_store", name),
                        "the bucket's credentials come from the environment: write "
                        f"${{VMS_S3_{name.upper()}}}, not the key itself",
                    )
                )
    for loc, text in _strings(raw, ()):
        if "://" not in text:
            continue
        try:
            password = urlsplit(text).password
        except ValueError:
            continue
        if password and not _ENV_REF.fullmatch(password):
            problems.append(
                (
                    loc,
                    "a password is written in the file; use an environment variable instead, "
                    "e.g. rtsp://${CAM_USER}:${CAM_PASS}@host/",
                )
            )


def _literal_gb_passwords(raw: Any, problems: list[tuple[_Loc, str]]) -> None:
    """GB/T 28181 device passwords must be ${ENV} references too."""
    section = raw.get("gb28181") if isinstance(raw, dict) else None
    if not isinstance(section, dict):
        return
    found: list[tuple[_Loc, Any]] = [(("gb28181", "password"), section.get("password"))]
    devices = section.get("devices")
    if isinstance(devices, dict):
        for dev_id, dev in devices.items():
            if isinstance(dev, dict):
                found.append((("gb28181", "devices", str(dev_id), "password"), dev.get("password")))
    for loc, value in found:
        if isinstance(value, str) and not _ENV_REF.fullmatch(value.strip()):
            problems.append(
                (loc, "a password is written in the file; use an environment variable: ${GB_PW}")
            )


def _strings(value: Any, loc: tuple[int | str, ...]) -> list[tuple[tuple[int | str, ...], str]]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _strings(v, (*loc, k))]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _strings(v, (*loc, i))]
    return [(loc, value)] if isinstance(value, str) else []


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line in the YAML file of the value at ``loc`` (or its nearest parent)."""
    line = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, val in node.value:
                if key.value == part:
                    nxt = val
                    line = key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            nxt = node.value[part]
        node = nxt
    if node is not None:
        line = node.start_mark.line + 1
    return line


def parse_config(text: str, source: str = "<config>", *, base_dir: Path | None = None) -> Config:
    """Validate YAML text; raise ConfigError listing every problem with its YAML path."""
    raw, tree = load_yaml(text, source)  # refuses alias bombs, bad YAML: ConfigError
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {type(raw).__name__}")
    problems: list[tuple[_Loc, str]] = []
    _literal_secrets(raw, problems)
    _literal_gb_passwords(raw, problems)
    data = _expand_env(raw, (), problems)
    config: Config | None = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            got = ""
            if err["type"] not in ("missing", "extra_forbidden") and not isinstance(
                err.get("input"), dict | list
            ):
                got = f", got {err.get('input')!r}"
            problems.append((tuple(err["loc"]), f"{msg}{got}"))
    if problems:
        lines = []
        for loc, msg in problems:
            line = _line_of(tree, loc)
            where = f" (line {line})" if line else ""
            lines.append(f"{format_path(loc)}{where}: {msg}")
        raise ConfigError(f"{source}: {len(problems)} problem(s)", lines)
    assert config is not None
    if base_dir is not None and not config.storage.root.is_absolute():
        storage = config.storage.model_copy(update={"root": base_dir / config.storage.root})
        config = config.model_copy(update={"storage": storage})
    return config


def load_config(path: Path | str) -> Config:
    """Read and validate a configuration file. Relative storage roots are taken from the CWD."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = f.read(LIMITS.max_bytes + 1)  # never more than a configuration may be
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from exc
    if len(data) > LIMITS.max_bytes:
        raise ConfigError(
            f"{path}: refused: more than the {LIMITS.max_bytes:,} bytes a configuration may have"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    return parse_config(text, str(path))


# Demo analytics: a doorway zone on the street, a person-down watch in the interview room.
_DEMO_STREET = {
    "zones": [
        {
            "name": "doorway",
            "polygon": [[0.6, 0.5], [1, 0.5], [1, 1], [0.6, 1]],
            "rules": {"loitering": {"seconds": 60}},
        }
    ]
}
_DEMO_CUSTODY = {"rules": {"person_down": {"seconds": 10}, "occupancy": {"max": 4}}}


def synthetic_demo_config(root: Path = Path("./data")) -> Config:
    """A street camera and a custody interrogation-room camera, built in: no footage needed."""
    return Config.model_validate(
        {
            "storage": {"root": str(root)},
            "detector": {"model": demo_model_path()},
            # Plain http on 127.0.0.1: a Secure cookie would never be sent back.
            "web": {"secure_cookies": False},
            "cameras": [
                {
                    "id": "street-1",
                    "name": "Demo street camera",
                    "kind": "street",
                    "site": "Demo street",
                    "source": "synthetic://street-1?size=640x360&fps=15",
                    "segment_seconds": 60,
                    "analytics": _DEMO_STREET,
                },
                {
                    "id": "interrogation-1",
                    "name": "Demo interrogation room",
                    "kind": "custody",
                    "site": "Demo custody area",
                    "room": "Interrogation room 1",
                    "room_type": "interrogation",
                    # With sound, as the law requires of interviews: a tone beeping each second.
                    "source": "synthetic://interrogation-1?size=640x360&fps=15&audio=tone",
                    "segment_seconds": 60,
                    "analytics": _DEMO_CUSTODY,
                },
            ],
        }
    )
