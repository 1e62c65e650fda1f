"""Export packages kept for download (``<storage.root>/exports/<case>/``): space and expiry.

A package is a copy of evidence that is itself kept (and held) under ``evidence/``, so it must
never be the reason footage goes. Three rules:

- **Space first.** Making a package needs, at its peak, the package folder and its zip. If
  that would take the storage over ``evidence.high_water_percent`` (where retention starts
  deleting the oldest *unheld footage*) or the exports over ``evidence.exports_quota_bytes``,
  the export is refused (``InsufficientStorageError``, 507 on the web) before a byte is
  written. Packages count against the quota and the disk like footage does.
- **One package.** The web app keeps the zip only; the folder it was made from is removed.
- **Expiry.** A package older than ``evidence.export_retention_days`` goes (audited, with its
  size) once its case is closed and no active hold names the case or one of its items.
"""

from __future__ import annotations

import logging
import os
import shutil
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from vms.clock import Clock, utc
from vms.config import Config
from vms.db.session import Database
from vms.errors import InsufficientStorageError
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.evidence.cases import case_slug
from vms.evidence.models import Case, EvidenceItem, Hold
from vms.evidence.usage import disk_probe, exports_bytes, exports_root
from vms.vocab import Subsystem

log = logging.getLogger(__name__)

EXPORT_ACTOR = Actor("vms-retention", "export package retention")
_STAMP = "%Y%m%dT%H%M%S%fZ"


def check_room(db: Database, config: Config, needed: int, what: str) -> None:
    """Refuse (507) an export of ``needed`` bytes that would pass the high-water mark or the
    exports quota; the message says what to do."""
    ev = config.evidence
    now = disk_probe(config, db)()
    limit = int(now.total * ev.high_water_percent / 100)
    if now.used + needed > limit:
        raise InsufficientStorageError(
            f"{what} needs about {needed:,} bytes, but the storage is at {now.used:,} of "
            f"{now.total:,} bytes and its high-water mark is {limit:,} "
            f"({ev.high_water_percent:g} %): past it retention deletes unheld footage. "
            "Free space (close cases whose packages can go, release holds) and try again",
            subsystem=Subsystem.EVIDENCE,
        )
    quota = ev.exports_quota_bytes
    if quota is not None:
        kept = exports_bytes(config)
        if kept + needed > quota:
            raise InsufficientStorageError(
                f"{what} needs about {needed:,} bytes; export packages already take {kept:,} "
                f"of their {quota:,}-byte quota (evidence.exports_quota_bytes)",
                subsystem=Subsystem.EVIDENCE,
            )


def zip_package(folder: Path) -> Path:
    """``<folder>.zip`` holding the folder (stored, not compressed: video does not shrink),
    written beside it under a temporary name and renamed when complete."""
    target = folder.with_suffix(".zip")
    partial = folder.with_name(folder.name + ".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            z.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    with partial.open("rb") as f:
        os.fsync(f.fileno())
    partial.replace(target)
    return target


@dataclass(frozen=True)
class PackageFile:
    case_number: str | None  # None: no case has this folder's name any more
    path: Path
    made: datetime
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case_number,
            "path": str(self.path),
            "made": self.made.isoformat(),
            "bytes": self.bytes,
        }


def _made(path: Path) -> datetime:
    stamp = path.name.removesuffix(".zip").rsplit("-", 1)[-1]
    try:
        return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def list_packages(db: Database, config: Config) -> list[PackageFile]:
    root = exports_root(config)
    if not root.is_dir():
        return []
    with db.session() as s:
        numbers = {case_slug(n): n for n in s.scalars(select(Case.number))}
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.name.endswith(".partial"):
                continue  # being written now
            found.append(PackageFile(numbers.get(folder.name), path, _made(path), _size(path)))
    return found


def _needed_cases(db: Database, now: datetime) -> set[str]:
    """Case numbers whose packages must stay: open, or named by an active hold (directly or
    through one of their items)."""
    active = or_(Hold.released_at.is_(None), Hold.released_at > now)
    with db.session() as s:
        open_cases = set(s.scalars(select(Case.number).where(Case.status == "open")))
        by_case = set(
            s.scalars(select(Case.number).join(Hold, Hold.case_id == Case.id).where(active))
        )
        by_item = set(
            s.scalars(
                select(Case.number)
                .join(EvidenceItem, EvidenceItem.case_id == Case.id)
                .join(Hold, Hold.item_id == EvidenceItem.id)
                .where(active)
            )
        )
    return open_cases | by_case | by_item


def expire_packages(
    db: Database, config: Config, clock: Clock, *, dry_run: bool = False
) -> list[dict[str, Any]]:
    """Delete packages past ``export_retention_days`` that no open case or hold needs."""
    now = utc(clock.now())
    cutoff = now - timedelta(days=config.evidence.export_retention_days)
    needed = _needed_cases(db, now)
    gone: list[dict[str, Any]] = []
    for pkg in list_packages(db, config):
        if pkg.made > cutoff or (pkg.case_number is not None and pkg.case_number in needed):
            continue
        entry = pkg.to_dict() | {"why": "expired"}
        if dry_run:
            gone.append(entry)
            continue
        rel = pkg.path.relative_to(exports_root(config)).as_posix()[:200]
        with db.session() as s:
            audit.append(
                s,
                clock,
                EXPORT_ACTOR,
                "delete",
                "export",
                rel,
                case_number=pkg.case_number,
                details={"bytes": pkg.bytes, "made": pkg.made.isoformat(), "why": "expired"},
            )
            _remove(pkg.path)
        gone.append(entry)
        log.info("export package %s expired (%d bytes)", rel, pkg.bytes)
    return gone


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
