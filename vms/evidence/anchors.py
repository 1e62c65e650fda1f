"""Anchors of the audit chain outside the database: signed checkpoints of its head.

The hash chain shows an entry edited, inserted or deleted in the middle, but whoever deletes
the newest entries and moves ``audit_head`` back leaves a shorter chain that is consistent in
itself. A head written down *outside* the database closes that: if the log no longer holds
entry N with the hash an anchor recorded, entries were removed or rewritten.

Anchors come from:

- the **checkpoint file** ``<storage.root>/audit/anchors.jsonl``: one line per checkpoint
  (``vms-audit-anchor/1``: seq, hash, time, signing key fingerprint, Ed25519 signature by the
  export signing key over the canonical JSON of the other fields), appended by the scheduled
  ``audit-anchor`` job whenever the head has moved, by every export, and by ``vms audit
  anchor``; it is opened append-only and fsynced;
- every **export manifest** (``audit_chain_head``), signed with the package;
- anything an auditor wrote down from ``vms audit head`` (``--anchor`` a file of such lines).

``check_anchors`` names each anchor the chain no longer reaches (``truncated``), reaches with
another hash (``rewritten``), or whose signature fails (``anchor``).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vms.clock import Clock, utc
from vms.config import Config
from vms.db.session import Database
from vms.errors import InvalidError
from vms.evidence import signing
from vms.evidence.audit import AuditProblem, AuditReport, canonical_json, chain_head, verify_chain
from vms.evidence.models import AuditEntry
from vms.evidence.package import MANIFEST, open_package
from vms.evidence.trust import TrustStore
from vms.vocab import Subsystem

FORMAT = "vms-audit-anchor/1"
_MAX_FILE = 64 << 20


@dataclass(frozen=True)
class Anchor:
    """A head of the chain recorded outside the database."""

    seq: int
    hash: str
    at: datetime | None
    source: str  # where it was read: "anchors.jsonl line 12", "manifest of case 2026-17"
    key: str | None = None  # fingerprint of the key that signed it
    signature: str | None = None  # base64; None for an unsigned anchor
    record: str | None = None  # the canonical JSON that was signed

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at.isoformat() if self.at else None,
            "source": self.source,
            "key": self.key,
            "signed": self.signature is not None,
        }


def anchors_path(config: Config) -> Path:
    return config.storage.root / "audit" / "anchors.jsonl"


def _record(seq: int, digest: str, at: datetime, key: str) -> dict[str, Any]:
    return {"format": FORMAT, "seq": seq, "hash": digest, "at": utc(at).isoformat(), "key": key}


def read_anchors(path: Path) -> list[Anchor]:
    """Anchors of a checkpoint file, of ``vms audit head`` lines, or of an export package
    (its folder, its zip or its manifest.json)."""
    if path.is_dir() or (path.is_file() and path.suffix == ".zip"):
        with open_package(path) as package:
            data = package.read(MANIFEST, _MAX_FILE)
        if data is None:
            raise InvalidError(f"{path}: no {MANIFEST} in it", subsystem=Subsystem.EVIDENCE)
        return [_from_manifest(data, f"the manifest of {path}")]
    try:
        with path.open("rb") as f:
            data = f.read(_MAX_FILE + 1)
    except OSError as exc:
        raise InvalidError(f"cannot read the anchor file {path}: {exc.strerror}") from exc
    if len(data) > _MAX_FILE:
        raise InvalidError(f"{path}: an anchor file of more than {_MAX_FILE:,} bytes")
    text = data.decode("utf-8", "replace")
    if text.lstrip().startswith("{") and '"audit_chain_head"' in text:
        return [_from_manifest(data, f"the manifest {path}")]
    anchors = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        anchors.append(_parse_line(line, f"{path} line {number}"))
    return anchors


def _from_manifest(data: bytes, source: str) -> Anchor:
    try:
        head = json.loads(data)["audit_chain_head"]
        return Anchor(int(head["seq"]), str(head["hash"]), None, source)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidError(f"{source}: no readable audit_chain_head: {exc}") from exc


def _parse_line(line: str, source: str) -> Anchor:
    try:
        if line.startswith("{"):
            doc = json.loads(line)
            signature = doc.pop("signature", None)
            return Anchor(
                int(doc["seq"]),
                str(doc["hash"]),
                utc(datetime.fromisoformat(doc["at"])) if doc.get("at") else None,
                source,
                key=doc.get("key"),
                signature=signature,
                record=canonical_json(doc),
            )
        seq, digest = line.split()[:2]  # `vms audit head`: "SEQ HASH"
        return Anchor(int(seq), digest, None, source)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidError(
            f"{source}: not an anchor (a checkpoint line or 'SEQ HASH'): {exc}",
            subsystem=Subsystem.EVIDENCE,
        ) from exc


def write_checkpoint(
    db: Database, config: Config, clock: Clock, *, force: bool = False
) -> Anchor | None:
    """Append a signed checkpoint of the current head, unless the last one already says it."""
    seq, digest = chain_head(db)
    if seq == 0:
        return None
    path = anchors_path(config)
    if not force and path.is_file():
        last = _last_line(path)
        if last is not None and (last.seq, last.hash) == (seq, digest):
            return None
    key = signing.load_or_create_key(signing.keys_dir(config))
    record = _record(seq, digest, clock.now(), signing.fingerprint(key.public_key()))
    text = canonical_json(record)
    line = dict(record, signature=base64.b64encode(key.sign(text.encode())).decode())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return _parse_line(json.dumps(line), f"{path} (new)")


def _last_line(path: Path) -> Anchor | None:
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 4096))
        lines = [x for x in f.read().decode("utf-8", "replace").splitlines() if x.strip()]
    try:
        return _parse_line(lines[-1], str(path)) if lines else None
    except InvalidError:
        return None


def check_anchors(db: Database, anchors: list[Anchor], keys: TrustStore) -> list[AuditProblem]:
    """Each anchor the chain no longer reaches, reaches with another hash, or that is forged."""
    problems: list[AuditProblem] = []
    wanted = sorted({a.seq for a in anchors})
    with db.session() as s:
        rows = s.execute(select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.in_(wanted)))
        found: dict[int, str] = {int(seq): str(digest) for seq, digest in rows}
        newest = s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    for a in sorted(anchors, key=lambda x: (x.seq, x.source)):
        bad_signature = _signature_problem(a, keys)
        if bad_signature:
            problems.append(AuditProblem(a.seq, "anchor", bad_signature))
            continue
        when = f", recorded {a.at.isoformat()}" if a.at else ""
        have = found.get(a.seq)
        if have is None:
            problems.append(
                AuditProblem(
                    a.seq,
                    "truncated",
                    f"the chain no longer reaches the head anchored at entry {a.seq} "
                    f"({a.source}{when}): it ends at entry {newest}; entries "
                    f"{newest + 1} to {a.seq} or more were deleted",
                )
            )
        elif have != a.hash:
            problems.append(
                AuditProblem(
                    a.seq,
                    "rewritten",
                    f"entry {a.seq} is not the one anchored ({a.source}{when}): hash {have}, "
                    f"anchored {a.hash}; the chain was rewritten from there or before",
                )
            )
    return problems


def _signature_problem(a: Anchor, keys: TrustStore) -> str | None:
    if a.signature is None or a.record is None:
        return None  # an unsigned anchor (a manifest is signed with its package)
    known = keys.lookup(a.key or "")
    if known is None or known.public_pem is None:
        return f"{a.source}: signed by key {a.key}, which is not a key of this installation"
    public = signing.load_public(known.public_pem.encode(), known.source)
    try:
        ok = signing.verify(public, base64.b64decode(a.signature), a.record.encode())
    except ValueError:
        ok = False
    return None if ok else f"{a.source}: the checkpoint's signature does not match it (forged)"


def verify_with_anchors(db: Database, anchors: list[Anchor], keys: TrustStore) -> AuditReport:
    """``verify_chain`` plus every anchor checked."""
    report = verify_chain(db)
    problems = [*report.problems, *check_anchors(db, anchors, keys)]
    return report.model_copy(update={"problems": problems})


def installation_anchors(config: Config) -> tuple[list[Anchor], TrustStore]:
    """The checkpoint file's anchors (none yet: empty) and the keys that sign them."""
    path = anchors_path(config)
    keys = TrustStore()
    keys.add_installation(signing.keys_dir(config))
    return (read_anchors(path) if path.is_file() else []), keys


class AnchorJob:
    """The ``audit-anchor`` job: a checkpoint whenever the head moved since the last one."""

    def __init__(self, db: Database, config: Config, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    def __call__(self) -> Anchor | None:
        return write_checkpoint(self.db, self.config, self.clock)
