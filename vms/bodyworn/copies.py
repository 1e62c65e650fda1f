"""Copying a body-worn original out (download, CLI): approval checked, hash verified, audited."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vms.bodyworn.access import Access, Action, Who, authorize, record_access
from vms.bodyworn.files import file_row, get_file, location_of
from vms.bodyworn.views import FileView
from vms.clock import Clock
from vms.config import Config
from vms.db.session import Database
from vms.errors import FileIntegrityError, StorageError
from vms.storage.base import Storage
from vms.storage.resolve import storage_for
from vms.vocab import Subsystem


@dataclass(frozen=True)
class Copied:
    path: Path
    sha256: str
    bytes: int
    access: Access


def export_name(f: FileView) -> str:
    """``<device>_<UTC start>_<file id>`` with the original's extension."""
    return f"{f.device}_{f.start:%Y%m%dT%H%M%SZ}_{f.id}{Path(f.original_name).suffix.lower()}"


def copy_out(
    db: Database,
    config: Config,
    clock: Clock,
    who: Who,
    file_id: int,
    folder: Path,
    reason: str,
    *,
    storage: Storage | None = None,
) -> Copied:
    """Copy a file's original into ``folder`` from wherever it lives (this node's disk or
    the bucket), checking its hash as it is read."""
    storage = storage or storage_for(config)
    access = authorize(db, clock, who, file_id, Action.COPY)
    f = get_file(db, file_id)
    with db.session() as s:
        row = file_row(s, file_id)
        key, location = row.path, location_of(s, row)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / export_name(f)
    try:
        digest, size = storage.copy_to(location, key, target)
    except FileNotFoundError as exc:
        target.unlink(missing_ok=True)
        raise FileIntegrityError(
            f"body-worn file {file_id}: {key} is missing ({location})"
        ) from exc
    except FileExistsError as exc:
        raise StorageError(f"{target} already exists", subsystem=Subsystem.BODYWORN) from exc
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if digest != f.sha256:
        target.unlink(missing_ok=True)
        raise FileIntegrityError(
            f"body-worn file {file_id} was altered: SHA-256 {digest}, recorded {f.sha256}"
        )
    with db.session() as s:
        record_access(
            s, clock, who, access, "export", reason,
            {"what": "copy", "to": str(target), "sha256": f.sha256, "bytes": size},
        )  # fmt: skip
    return Copied(target, f.sha256, size, access)
