"""The one exception tree of vms: errors by kind, with the subsystem as context.

    VmsError                      (every error carries ``subsystem``: vms.vocab.Subsystem | None)
    ├── ConfigError               a configuration file is missing, unreadable or invalid
    ├── InvalidError              an input is not valid: a bad value, a time in the future,
    │   │                         a missing required field of a command or request  (400)
    │   └── ClipError             a clip cannot be cut (no footage, still recording, the
    │                             stream changed, a gap where gaps are refused)
    ├── NotFoundError             no such person, room, case, item, hold, event, camera  (404)
    ├── ConflictError             the action conflicts with the state: closed case, person
    │   │                         already released, room in use, taken number  (409)
    │   └── LegalHoldError        the action would delete footage or evidence under legal hold
    ├── AuthenticationError       not logged in, wrong password, expired session or token (401)
    ├── PermissionDeniedError     the role or camera scope of the caller does not allow it (403)
    ├── ReasonRequiredError       custody footage: viewing or exporting it needs a reason  (428)
    ├── FileIntegrityError        a file no longer matches the SHA-256 recorded for it
    ├── SigningError              the signing key is missing, unreadable or invalid
    ├── StorageError              the recordings folder cannot be written or read  (503)
    │   └── InsufficientStorageError  the storage has no room for this without deleting
    │                             unheld footage (an export above the high-water mark)  (507)
    ├── DatabaseError             the index database cannot be reached or migrated  (503)
    ├── CameraError               a camera stream failed  (502)
    │   ├── SourceOpenError       the source could not be opened (connect error, bad URL)
    │   ├── SourceStalledError    no packet arrived within the stall timeout
    │   ├── SourceEndedError      the stream ended (end of file, server closed it)
    │   └── LiveStreamError       no live stream of the camera can be given to a viewer now
    └── AnalyticsError            video analytics cannot run
        ├── ModelError            the detector model is missing or cannot be loaded
        └── VideoError            a video file cannot be read, or decoding it crashed

Callers catch a kind (``NotFoundError``), never a subsystem: "no such person" is a
``NotFoundError(..., subsystem=Subsystem.CUSTODY)`` and answers 404 wherever it is raised.
Each boundary maps kinds once: the web app to HTTP statuses (``vms.web.errors``), the CLI to
exit codes (``vms.cli.main``).

Third-party exceptions (PyAV, SQLAlchemy, pydantic) are translated at the boundary with
``raise Mapped(...) from exc`` so callers only ever catch ``VmsError``.
"""

from __future__ import annotations

from vms.vocab import Subsystem


class VmsError(Exception):
    """Base of every error vms raises on purpose; ``subsystem`` says where it came from."""

    #: The subsystem of errors of this class when the raiser names none.
    default_subsystem: Subsystem | None = None

    def __init__(self, message: str = "", *, subsystem: Subsystem | None = None) -> None:
        super().__init__(message)
        self.subsystem = subsystem or self.default_subsystem


class ConfigError(VmsError):
    """A configuration file is missing, unreadable or invalid.

    ``problems`` holds one line per error, each starting with its YAML path
    (``cameras[2].source: ...``).
    """

    default_subsystem = Subsystem.CONFIG

    def __init__(
        self,
        message: str,
        problems: list[str] | None = None,
        *,
        subsystem: Subsystem | None = None,
    ) -> None:
        self.problems = problems or []
        text = message if not self.problems else message + "\n" + "\n".join(self.problems)
        super().__init__(text, subsystem=subsystem)


class InvalidError(VmsError):
    """An input is not valid: a bad value, a time in the future, a required field missing."""


class ClipError(InvalidError):
    """A clip cannot be cut from the recorded segments."""

    default_subsystem = Subsystem.EVIDENCE


class NotFoundError(VmsError):
    """No such person, room, interview, alert, case, item, hold, event or camera footage."""


class ConflictError(VmsError):
    """The action conflicts with the current state (closed case, taken number, ...)."""


class LegalHoldError(ConflictError):
    """The action would delete footage or evidence that is under legal hold."""

    default_subsystem = Subsystem.EVIDENCE


class AuthenticationError(VmsError):
    """Not logged in, a wrong user name or password, an expired session or a revoked token."""

    default_subsystem = Subsystem.WEB


class PermissionDeniedError(VmsError):
    """The caller's role or camera scope does not allow this."""


class ReasonRequiredError(VmsError):
    """Viewing or exporting custody-room footage needs a reason, written to the audit log."""


class FileIntegrityError(VmsError):
    """A file no longer matches the SHA-256 recorded for it (altered or truncated)."""

    default_subsystem = Subsystem.EVIDENCE


class SigningError(VmsError):
    """The signing key is missing, unreadable or invalid."""

    default_subsystem = Subsystem.EVIDENCE


class StorageError(VmsError):
    """The recordings folder cannot be written or read."""

    default_subsystem = Subsystem.RECORDING


class InsufficientStorageError(StorageError):
    """The storage has no room for this without pushing it over the high-water mark."""

    default_subsystem = Subsystem.EVIDENCE


class DatabaseError(VmsError):
    """The index database cannot be reached or migrated."""


class CameraError(VmsError):
    """A camera stream failed."""

    default_subsystem = Subsystem.RECORDING


class SourceOpenError(CameraError):
    """The source could not be opened."""


class SourceStalledError(CameraError):
    """No packet arrived within the stall timeout."""


class SourceEndedError(CameraError):
    """The stream ended."""


class LiveStreamError(CameraError):
    """No live stream of the camera can be given to a viewer now (offline, not H.264)."""


class AnalyticsError(VmsError):
    """Video analytics cannot run."""

    default_subsystem = Subsystem.ANALYTICS


class ModelError(AnalyticsError):
    """The detector model is missing or cannot be loaded; the message says what to do."""


class VideoError(AnalyticsError):
    """A video file cannot be read, or decoding it crashed (in a child process)."""
