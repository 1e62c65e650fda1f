"""The one exception tree of vms.

    VmsError
    ├── ConfigError          a configuration file is missing, unreadable or invalid
    ├── StorageError         the recordings folder cannot be written or read
    ├── DatabaseError        the index database cannot be reached or migrated
    ├── CameraError          a camera stream failed
    │   ├── SourceOpenError  the source could not be opened (connect error, bad URL)
    │   ├── SourceStalledError    no packet arrived within the stall timeout
    │   ├── SourceEndedError      the stream ended (end of file, server closed it)
    │   └── LiveStreamError       no live stream of the camera can be given to a viewer now
    ├── AccessError          (web) the request may not be served to this caller
    │   ├── AuthenticationError   not logged in, wrong password, expired session or token
    │   ├── PermissionDeniedError the role or camera scope of the user does not allow it
    │   └── ReasonRequiredError   custody footage: playing or exporting it needs a reason
    ├── EvidenceError        cases, evidence items, legal holds, exports
    │   ├── NotFoundError         no such case, item, hold, event or camera footage
    │   ├── ConflictError         the action conflicts with the state (closed case, taken
    │   │                         case number, hold already released)
    │   ├── LegalHoldError        the action would delete footage or evidence under legal hold
    │   ├── ClipError             a clip cannot be cut (no footage, still recording, the
    │   │                         stream changed, a gap where gaps are refused)
    │   ├── FileIntegrityError    a file no longer matches the SHA-256 recorded for it
    │   └── SigningError          the signing key is missing, unreadable or invalid
    ├── AnalyticsError       video analytics cannot run
    │   ├── ModelError            the detector model is missing or cannot be loaded
    │   └── VideoError            a video file cannot be read, or decoding it crashed
    └── CustodyError         a custody-ledger operation is refused (unknown person, room,
                             interview or alert; person already released; time in the future)

Third-party exceptions (PyAV, SQLAlchemy, pydantic) are translated at the boundary with
``raise Mapped(...) from exc`` so callers only ever catch ``VmsError``.
"""

from __future__ import annotations


class VmsError(Exception):
    """Base of every error vms raises on purpose."""


class ConfigError(VmsError):
    """A configuration file is missing, unreadable or invalid.

    ``problems`` holds one line per error, each starting with its YAML path
    (``cameras[2].source: ...``).
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        text = message if not self.problems else message + "\n" + "\n".join(self.problems)
        super().__init__(text)


class StorageError(VmsError):
    """The recordings folder cannot be written or read."""


class DatabaseError(VmsError):
    """The index database cannot be reached or migrated."""


class CameraError(VmsError):
    """A camera stream failed."""


class SourceOpenError(CameraError):
    """The source could not be opened."""


class SourceStalledError(CameraError):
    """No packet arrived within the stall timeout."""


class SourceEndedError(CameraError):
    """The stream ended."""


class LiveStreamError(CameraError):
    """No live stream of the camera can be given to a viewer now (offline, not H.264)."""


class AccessError(VmsError):
    """The request may not be served to this caller (the web layer's errors)."""


class AuthenticationError(AccessError):
    """Not logged in, a wrong user name or password, an expired session or a revoked token."""


class PermissionDeniedError(AccessError):
    """The user's role or camera scope does not allow this."""


class ReasonRequiredError(AccessError):
    """Playing or exporting custody-room footage needs a reason, written to the audit log."""


class EvidenceError(VmsError):
    """Cases, evidence items, legal holds or exports."""


class NotFoundError(EvidenceError):
    """No such case, item, hold, event or camera footage."""


class ConflictError(EvidenceError):
    """The action conflicts with the current state (closed case, taken number, ...)."""


class LegalHoldError(EvidenceError):
    """The action would delete footage or evidence that is under legal hold."""


class ClipError(EvidenceError):
    """A clip cannot be cut from the recorded segments."""


class FileIntegrityError(EvidenceError):
    """A file no longer matches the SHA-256 recorded for it (altered or truncated)."""


class SigningError(EvidenceError):
    """The signing key is missing, unreadable or invalid."""


class CustodyError(VmsError):
    """A custody-ledger operation is refused: unknown person, room, interview or alert, a
    person already released, an interview already ended, a time in the future."""


class AnalyticsError(VmsError):
    """Video analytics cannot run."""


class ModelError(AnalyticsError):
    """The detector model is missing or cannot be loaded; the message says what to do."""


class VideoError(AnalyticsError):
    """A video file cannot be read, or decoding it crashed (in a child process)."""
