"""Offline verification of an export package (its folder or its zip) against trust anchors.

The checks, in order, each problem named with the file it concerns:

1. the manifest is there, readable, and names the key that signed it (``public_key_sha256``);
2. the key the package ships has that fingerprint (a package re-signed with another key and
   a manifest left naming the old one fails here);
3. the signature of the manifest's exact bytes verifies with the shipped key;
4. the key is one the verifier trusts (``TrustStore``: ``--public-key``, ``--trust``,
   ``--config``): unknown, revoked, or retired before the package says it was made, fails;
   no anchor at all fails too, naming the fingerprint to compare with the published one;
5. every listed file is there with its hash and size; no file is there that is not listed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from vms.clock import utc
from vms.errors import SigningError
from vms.evidence import signing
from vms.evidence.package import MANIFEST, SIGNATURE, Package, open_package
from vms.evidence.trust import RETIRED, REVOKED, KnownKey, TrustStore

_UNSIGNED = (MANIFEST, SIGNATURE, signing.PUBLIC_KEY)
_MAX_MANIFEST = 64 << 20
_MAX_SMALL = 64 << 10


@dataclass(frozen=True)
class PackageProblem:
    path: str
    kind: str  # missing, altered, unexpected, signature, key, untrusted, manifest
    message: str

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class PackageReport:
    path: Path
    ok_files: int = 0
    key_fingerprint: str | None = None
    #: The trust anchor that knows the signing key, its label and status (None: not known).
    known_key: KnownKey | None = None
    trust_sources: list[str] = field(default_factory=list)
    case_number: str | None = None
    exported_at: datetime | None = None
    problems: list[PackageProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def trusted_key(self) -> bool:
        """The signing key is one an anchor vouches for and neither revoked nor misused."""
        return self.known_key is not None and not any(
            p.kind in ("untrusted", "key") for p in self.problems
        )

    def signer(self) -> str:
        """One line saying which key signed and what the anchors say of it."""
        fp = self.key_fingerprint or "(unknown)"
        key = self.known_key
        if key is None:
            if not self.trust_sources:
                return (
                    f"signed by key {fp}, NOT checked against any trusted key: compare it with "
                    "the fingerprint the bureau publishes, or give --public-key, --trust or "
                    "--config"
                )
            anchors = ", ".join(self.trust_sources)
            return f"signed by key {fp}, which is NOT a known key of {anchors}"
        label = f" ({key.label})" if key.label else ""
        state = {
            RETIRED: f", retired {key.retired_at.isoformat() if key.retired_at else ''}",
            REVOKED: f", REVOKED {key.revoked_at.isoformat() if key.revoked_at else ''}",
        }.get(key.status, "")
        return f"signed by key {fp}{label}: published by {key.source}{state}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "ok": self.ok,
            "ok_files": self.ok_files,
            "key_fingerprint": self.key_fingerprint,
            "trusted_key": self.trusted_key,
            "key": self.known_key.to_dict() | {"source": self.known_key.source}
            if self.known_key
            else None,
            "trust_sources": self.trust_sources,
            "signer": self.signer(),
            "case": self.case_number,
            "exported_at": self.exported_at.isoformat() if self.exported_at else None,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify_package(
    path: Path, trusted_key: bytes | None = None, *, trust: TrustStore | None = None
) -> PackageReport:
    """Check a package (folder or zip) offline; see the module docstring for the checks.

    ``trusted_key`` (a PEM public key) is a shorthand for a store holding that one key.
    """
    store = TrustStore() if trust is None else trust
    if trusted_key is not None:
        store.add_pem(trusted_key, "the trusted key")
    report = PackageReport(path, trust_sources=list(store.sources))
    with open_package(path) as package:
        _verify(package, store, report)
    return report


def _verify(package: Package, store: TrustStore, report: PackageReport) -> None:
    problems = report.problems
    problems.extend(PackageProblem(f.path, "unexpected", f.message) for f in package.flaws)
    data = package.read(MANIFEST, _MAX_MANIFEST)
    if data is None:
        problems.append(PackageProblem(MANIFEST, "missing", f"{MANIFEST} is missing"))
        return
    try:
        manifest = json.loads(data)
        listed = {str(f["path"]): f for f in manifest["files"]}
        report.case_number = str(manifest["case"]["number"])
        report.exported_at = utc(datetime.fromisoformat(manifest["exported_at"]))
        named = str(manifest["signature"]["public_key_sha256"])
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(PackageProblem(MANIFEST, "manifest", f"{MANIFEST} is unreadable: {exc}"))
        return
    _check_signature(package, data, named, store, report)
    for rel, entry in sorted(listed.items()):
        got = package.sha256(rel) if rel not in _UNSIGNED else None
        if got is None:
            problems.append(PackageProblem(rel, "missing", f"{rel} is missing"))
            continue
        digest, size = got
        if digest != entry.get("sha256") or size != entry.get("bytes"):
            problems.append(
                PackageProblem(
                    rel,
                    "altered",
                    f"{rel} was altered: SHA-256 {digest} ({size} bytes), manifest says "
                    f"{entry.get('sha256')} ({entry.get('bytes')} bytes)",
                )
            )
            continue
        report.ok_files += 1
    for rel in package.files():
        if rel not in listed and rel not in _UNSIGNED:
            problems.append(
                PackageProblem(rel, "unexpected", f"{rel} is not listed in the manifest")
            )


def _check_signature(
    package: Package, data: bytes, named: str, store: TrustStore, report: PackageReport
) -> None:
    problems = report.problems
    key_pem = package.read(signing.PUBLIC_KEY, _MAX_SMALL)
    signature = package.read(SIGNATURE, _MAX_SMALL)
    if signature is None:
        problems.append(PackageProblem(SIGNATURE, "missing", f"{SIGNATURE} is missing"))
    if key_pem is None:
        problems.append(
            PackageProblem(signing.PUBLIC_KEY, "missing", f"{signing.PUBLIC_KEY} is missing")
        )
        return
    try:
        key = signing.load_public(key_pem, signing.PUBLIC_KEY)
    except SigningError as exc:
        problems.append(PackageProblem(signing.PUBLIC_KEY, "key", str(exc)))
        return
    fp = report.key_fingerprint = signing.fingerprint(key)
    if fp != named:
        problems.append(
            PackageProblem(
                signing.PUBLIC_KEY,
                "key",
                f"the manifest names signing key {named} but the package ships key {fp}: "
                "it was re-signed with another key",
            )
        )
    if signature is not None and not signing.verify(key, signature, data):
        problems.append(
            PackageProblem(
                MANIFEST,
                "signature",
                f"the signature does not match {MANIFEST}: the manifest or {SIGNATURE} "
                "was altered, or it was signed by another key",
            )
        )
    known = report.known_key = store.lookup(fp)
    if known is None:
        problems.append(PackageProblem(signing.PUBLIC_KEY, "untrusted", report.signer()))
    elif known.status == REVOKED:
        why = f": {known.revoked_reason}" if known.revoked_reason else ""
        problems.append(
            PackageProblem(
                signing.PUBLIC_KEY,
                "untrusted",
                f"signing key {fp} was revoked by {known.source}"
                f"{f' on {known.revoked_at.isoformat()}' if known.revoked_at else ''}{why}",
            )
        )
    elif (
        known.status == RETIRED
        and known.retired_at is not None
        and report.exported_at is not None
        and report.exported_at > known.retired_at
    ):
        problems.append(
            PackageProblem(
                signing.PUBLIC_KEY,
                "untrusted",
                f"the package says it was made {report.exported_at.isoformat()}, after its "
                f"signing key {fp} was retired ({known.retired_at.isoformat()})",
            )
        )
