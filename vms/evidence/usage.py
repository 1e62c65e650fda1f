"""How full the storage is, as retention and exports count it: footage, evidence files and
export packages, against ``evidence.quota_bytes`` if set, else the file system.

Its own module so that retention (which deletes to stay under the mark) and exports (which
refuse to pass it) both read one count without importing each other.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from vms.config import Config
from vms.db.models import Segment
from vms.db.session import Database
from vms.evidence.models import EvidenceItem


@dataclass(frozen=True)
class DiskUsage:
    """Capacity and use of the storage, in bytes."""

    total: int
    used: int


def exports_root(config: Config) -> Path:
    return config.storage.root / "exports"


def exports_bytes(config: Config) -> int:
    """Bytes of every file under the exports folder (packages, zips, partial ones)."""
    total = 0
    for dirpath, _dirs, files in os.walk(exports_root(config)):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


def disk_probe(config: Config, db: Database) -> Callable[[], DiskUsage]:
    """The usage probe for ``config``: the indexed bytes (footage, evidence files) and the
    export packages against ``quota_bytes`` if set, else the file system that holds the
    storage root."""
    quota = config.evidence.quota_bytes
    if quota is not None:

        def indexed() -> DiskUsage:
            with db.session() as s:
                footage = s.scalar(
                    select(func.coalesce(func.sum(Segment.bytes), 0)).where(
                        Segment.status != "missing"
                    )
                )
                evidence = s.scalar(
                    select(func.coalesce(func.sum(EvidenceItem.bytes), 0)).where(
                        EvidenceItem.status == "active"
                    )
                )
            kept = int(footage or 0) + int(evidence or 0) + exports_bytes(config)
            return DiskUsage(quota, kept)

        return indexed

    root = config.storage.root

    def filesystem() -> DiskUsage:
        usage = shutil.disk_usage(root)
        return DiskUsage(usage.total, usage.used)

    return filesystem
