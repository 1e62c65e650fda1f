"""The one exception tree of vms.

    VmsError
    ├── ConfigError          a configuration file is missing, unreadable or invalid
    ├── StorageError         the recordings folder cannot be written or read
    ├── DatabaseError        the index database cannot be reached or migrated
    └── CameraError          a camera stream failed
        ├── SourceOpenError  the source could not be opened (connect error, bad URL)
        ├── SourceStalledError    no packet arrived within the stall timeout
        └── SourceEndedError      the stream ended (end of file, server closed it)

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
