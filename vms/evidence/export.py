"""Signed export packages: a case's clips and snapshots, a manifest, and its signature.

Layout of a package folder::

    manifest.json          case, items, cameras, times, source segment and file hashes,
                           who exported, when and why, the audit chain head
    manifest.sig           Ed25519 signature of manifest.json's exact bytes (64 raw bytes)
    signing-key.pub.pem    the public key (compare its fingerprint with the published one)
    SHA256SUMS             the same file hashes for ``sha256sum -c`` (listed in the manifest)
    README.txt             how to verify without vms
    clips/ snapshots/      the evidence files, copied and hashed in one pass

``verify_package`` (vms.evidence.verify) needs nothing but the folder or its zip, and the
bureau's published key registry to say whose key signed it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

import vms
from vms.clock import Clock, utc
from vms.config import Config
from vms.db.models import Camera
from vms.db.session import Database
from vms.errors import ConflictError, FileIntegrityError, StorageError, VmsError
from vms.evidence import anchors, audit, exports, signing, trust
from vms.evidence.audit import Actor
from vms.evidence.cases import get_case
from vms.evidence.items import CLIP, ItemView, list_items, require_items
from vms.evidence.package import MANIFEST, README, SIGNATURE, SUMS
from vms.evidence.verify import PackageProblem, PackageReport, verify_package
from vms.storage.resolve import storage_for
from vms.vocab import Subsystem, jsonable

log = logging.getLogger(__name__)
__all__ = ["ExportResult", "PackageProblem", "PackageReport", "export_case", "verify_package"]

FORMAT = "vms-evidence-export/1"
_CHUNK = 4 << 20


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest_sha256: str
    key_fingerprint: str
    files: int
    bytes: int


def _camera_dicts(db: Database, ids: set[str]) -> list[dict[str, Any]]:
    with db.session() as s:
        rows = s.scalars(select(Camera).where(Camera.id.in_(ids)).order_by(Camera.id))
        return [
            {
                "id": c.id,
                "name": c.name,
                "kind": c.kind,
                "site": c.site,
                "room": c.room,
                "room_type": c.room_type,
            }
            for c in rows
        ]


def _item_entry(item: ItemView, file_entry: dict[str, Any] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "camera": item.camera_id,
        "requested_start": item.requested_start,
        "requested_end": item.requested_end,
        "start": item.start,
        "end": item.end,
        "gaps": item.gaps,
        "note": item.note,
        "added_by": item.created_by,
        "added_at": item.created_at,
        "reason": item.reason,
        "file": file_entry,
    }
    if item.kind == CLIP:
        entry["packets"] = item.packets
        entry["source_segments"] = item.sources
    else:
        entry["event"] = {"id": item.event_id, **item.data}
    return entry


def export_case(
    db: Database,
    config: Config,
    clock: Clock,
    actor: Actor,
    case_number: str,
    out: Path,
) -> ExportResult:
    """Write case ``case_number``'s package to the new folder ``out`` and log the export.

    Every evidence file is checked against its recorded hash while it is copied; an altered
    file stops the export (FileIntegrityError) and nothing is left behind.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConflictError(
            f"{out} already exists and is not an empty folder", subsystem=Subsystem.EVIDENCE
        )
    case = get_case(db, case_number)
    items = list_items(db, case_number)
    require_items(items, case_number)
    if _same_filesystem(out, config.storage.root):  # never at the cost of unheld footage
        exports.check_room(db, config, package_bytes(items), f"exporting case {case_number}")
    key = signing.load_or_create_key(signing.keys_dir(config))
    public = key.public_key()
    fp = signing.fingerprint(public)
    trust.register(signing.keys_dir(config), public, clock.now())  # the published keys
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    try:
        result = _write_package(db, config, clock, actor, jsonable(case), items, partial, fp)
        with db.session() as s:
            audit.append(
                s,
                clock,
                actor,
                "export",
                "case",
                case.id,
                case_number=case_number,
                details={
                    "path": str(out.resolve()),
                    "manifest_sha256": result[0],
                    "items": [i.id for i in items],
                    "files": result[1],
                    "key_fingerprint": fp,
                },
            )
            (partial / SIGNATURE).write_bytes(key.sign((partial / MANIFEST).read_bytes()))
            (partial / signing.PUBLIC_KEY).write_bytes(signing.public_pem(public))
            if out.exists():
                out.rmdir()
            partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    try:  # the head, with this export's entry, anchored outside the database
        anchors.write_checkpoint(db, config, clock)
    except (OSError, VmsError) as exc:
        log.error("export of %s done, but its audit checkpoint was not written: %s",
                  case_number, exc)  # fmt: skip
    return ExportResult(out, result[0], fp, result[1], result[2])


def package_bytes(items: list[ItemView]) -> int:
    """About the size of a package of ``items``: their files and the manifest."""
    return sum(i.bytes or 0 for i in items) + 64 * 1024 + 4 * 1024 * len(items)


def _same_filesystem(out: Path, root: Path) -> bool:
    def device(path: Path) -> int | None:
        for p in (path, *path.absolute().parents):
            with contextlib.suppress(OSError):
                return p.stat().st_dev
        return None

    return device(out) == device(root)


def _write_package(
    db: Database,
    config: Config,
    clock: Clock,
    actor: Actor,
    case: dict[str, Any],
    items: list[ItemView],
    folder: Path,
    fp: str,
) -> tuple[str, int, int]:
    """Copy the files and write manifest, sums and readme; (manifest SHA-256, files, bytes)."""
    storage = storage_for(config)
    try:
        folder.mkdir(parents=True)
        files: list[dict[str, Any]] = []
        entries = []
        for item in items:
            file_entry = None
            if item.path is not None:
                sub = "clips" if item.kind == CLIP else "snapshots"
                rel = f"{sub}/{Path(item.path).name}"
                (folder / sub).mkdir(exist_ok=True)
                try:
                    digest, size = storage.copy_to(item.location, item.path, folder / rel)
                except FileNotFoundError:
                    raise FileIntegrityError(
                        f"evidence item {item.id}: file {item.path} is missing; not exported"
                    ) from None
                if digest != item.sha256:
                    raise FileIntegrityError(
                        f"evidence item {item.id}: file {item.path} was altered (SHA-256 "
                        f"{digest}, recorded {item.sha256}); not exported"
                    )
                file_entry = {"path": rel, "sha256": digest, "bytes": size}
                files.append(file_entry)
            entries.append(_item_entry(item, file_entry))
        (folder / README).write_text(_readme(case["number"], fp), encoding="utf-8")
        files.append(_describe(folder, README))
        sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in sorted(files, key=_by_path))
        (folder / SUMS).write_text(sums, encoding="utf-8")
        files.append(_describe(folder, SUMS))
        head_seq, head_hash = audit.chain_head(db)
        manifest = {
            "format": FORMAT,
            "case": case,
            "exported_by": actor.user,
            "exported_at": utc(clock.now()),
            "reason": actor.reason,
            "system": {"software": f"vms {vms.__version__}", "host": socket.gethostname()},
            "signature": {
                "algorithm": signing.ALGORITHM,
                "signed_file": MANIFEST,
                "signature_file": SIGNATURE,
                "public_key_file": signing.PUBLIC_KEY,
                "public_key_sha256": fp,
            },
            "audit_chain_head": {"seq": head_seq, "hash": head_hash},
            "cameras": _camera_dicts(db, {i.camera_id for i in items}),
            "items": entries,
            "files": sorted(files, key=_by_path),
        }
        text = json.dumps(jsonable(manifest), indent=2, sort_keys=True, ensure_ascii=False)
        data = (text + "\n").encode()
        (folder / MANIFEST).write_bytes(data)
    except OSError as exc:
        raise StorageError(f"cannot write the export package {folder}: {exc}") from exc
    return hashlib.sha256(data).hexdigest(), len(files), sum(f["bytes"] for f in files)


def _by_path(f: dict[str, Any]) -> str:
    return str(f["path"])


def _describe(folder: Path, rel: str) -> dict[str, Any]:
    data = (folder / rel).read_bytes()
    return {"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _readme(number: str, fp: str) -> str:
    return f"""Evidence export of case {number}, made by vms.

manifest.json lists every file in this folder with its SHA-256, the case, the cameras, the
times, the recorded segments each clip was cut from (with their hashes), who exported it,
when and why. manifest.sig is an Ed25519 signature of manifest.json's exact bytes.

Signing key fingerprint (SHA-256 of the raw public key):
    {fp}
Compare it with the fingerprint the bureau publishes before trusting this package.

To verify with vms:      vms evidence verify <this folder or its zip> \\
                             --trust <the bureau's published key registry>
To verify without vms:   openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem \\
                             -rawin -in manifest.json -sigfile manifest.sig
                         sha256sum -c SHA256SUMS
                         openssl pkey -pubin -in signing-key.pub.pem -outform DER \\
                             | tail -c 32 | sha256sum     (the fingerprint above)
(SHA256SUMS is listed with its own hash in the signed manifest.)

The clips are the camera's own packets, remuxed without re-encoding. A clip starts at the
keyframe at or before the requested start; the manifest's "gaps" list any part of its range
that was not recorded (the player holds the last picture across a gap).
"""
