"""Trust anchors for offline verification: which signing keys a verifier may believe.

A package ships the public key it was signed with, so its signature alone proves only that the
manifest was not changed *after* whoever holds that key signed it. What makes a package the
bureau's is that its key is one the bureau published. vms keeps that list as a **key
registry** (``published-keys.json`` in the keys folder, format ``vms-signing-keys/1``): every
key the installation ever signed with, its fingerprint, public key, when it was published, and
when it was retired (rotation) or revoked (compromise). The bureau publishes that file (its
web site, a letter to the court); a verifier gives it with ``--trust``.

A verifier's anchors (a ``TrustStore``) come from any of:

- ``--public-key FILE``: one PEM public key;
- ``--trust FILE``: a key registry, or a text file of fingerprints (one per line, ``#``
  comments, a label after the fingerprint), or PEM public keys;
- ``--config FILE``: this installation's own registry (and its current key).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from vms.clock import utc
from vms.errors import InvalidError, NotFoundError, SigningError
from vms.evidence import signing
from vms.vocab import Subsystem

REGISTRY = "published-keys.json"
FORMAT = "vms-signing-keys/1"
CURRENT, RETIRED, REVOKED = "current", "retired", "revoked"
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
_PEM = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)
_MAX_TRUST_FILE = 4 << 20


@dataclass(frozen=True)
class KnownKey:
    """A signing key a trust anchor vouches for."""

    fingerprint: str
    label: str
    source: str  # the anchor it came from, as the verifier named it
    status: str = CURRENT  # current, retired or revoked
    published_at: datetime | None = None
    retired_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None
    public_pem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "fingerprint": self.fingerprint,
            "label": self.label,
            "status": self.status,
            "published_at": iso(self.published_at),
            "retired_at": iso(self.retired_at),
            "revoked_at": iso(self.revoked_at),
            "revoked_reason": self.revoked_reason,
            "public_key": self.public_pem,
        }


def _time(value: Any) -> datetime | None:
    return utc(datetime.fromisoformat(str(value))) if value else None


def _key_of_entry(entry: dict[str, Any], source: str) -> KnownKey:
    fp = str(entry["fingerprint"]).lower()
    pem = entry.get("public_key")
    if pem:
        actual = signing.fingerprint(signing.load_public(str(pem).encode(), source))
        if actual != fp:
            raise SigningError(
                f"{source}: the entry for {fp} holds a public key with fingerprint {actual}"
            )
    revoked, retired = _time(entry.get("revoked_at")), _time(entry.get("retired_at"))
    return KnownKey(
        fingerprint=fp,
        label=str(entry.get("label") or ""),
        source=source,
        status=REVOKED if revoked else RETIRED if retired else CURRENT,
        published_at=_time(entry.get("published_at")),
        retired_at=retired,
        revoked_at=revoked,
        revoked_reason=entry.get("revoked_reason"),
        public_pem=str(pem) if pem else None,
    )


@dataclass
class TrustStore:
    """The keys a verifier trusts, by fingerprint, and the anchors they came from."""

    keys: dict[str, KnownKey] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sources)

    def lookup(self, fingerprint: str) -> KnownKey | None:
        return self.keys.get(fingerprint)

    def add(self, key: KnownKey) -> None:
        known = self.keys.get(key.fingerprint)
        # A revocation anywhere wins; otherwise the first anchor that named the key.
        if known is None or (key.status == REVOKED and known.status != REVOKED):
            self.keys[key.fingerprint] = key

    def add_pem(self, data: bytes, source: str) -> None:
        key = signing.load_public(data, source)
        self.add(KnownKey(signing.fingerprint(key), "", source, public_pem=data.decode()))
        self.sources.append(source)

    def add_file(self, path: Path) -> None:
        """A key registry (JSON), PEM public keys, or fingerprint lines."""
        source = str(path)
        try:
            with path.open("rb") as f:
                data = f.read(_MAX_TRUST_FILE + 1)
        except OSError as exc:
            raise SigningError(f"cannot read the trust file {path}: {exc.strerror}") from exc
        if len(data) > _MAX_TRUST_FILE:
            raise SigningError(f"{path}: a trust file of more than {_MAX_TRUST_FILE:,} bytes")
        if data.lstrip().startswith(b"{"):
            for key in parse_registry(data, source):
                self.add(key)
        elif b"-----BEGIN PUBLIC KEY-----" in data:
            for pem in _PEM.findall(data):
                public = signing.load_public(pem, source)
                fp = signing.fingerprint(public)
                self.add(KnownKey(fp, "", source, public_pem=pem.decode()))
        else:
            for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                fp, _, label = text.partition(" ")
                fp = fp.lower().removeprefix("sha256:")
                if not _FINGERPRINT.match(fp):
                    raise SigningError(
                        f"{path} line {number}: expected a SHA-256 fingerprint (64 hex "
                        f"digits), got {fp[:80]!r}"
                    )
                self.add(KnownKey(fp, label.strip(), source))
        self.sources.append(source)

    def add_installation(self, keys_dir: Path) -> None:
        """This installation's registry (and its current public key, registered or not)."""
        source = f"this installation ({keys_dir})"
        registry = keys_dir / REGISTRY
        if registry.is_file():
            for key in parse_registry(registry.read_bytes(), source):
                self.add(key)
        public = keys_dir / signing.PUBLIC_KEY
        if public.is_file():
            pem = public.read_bytes()
            current = signing.load_public(pem, str(public))
            self.add(KnownKey(signing.fingerprint(current), "", source, public_pem=pem.decode()))
        self.sources.append(source)


def parse_registry(data: bytes, source: str) -> list[KnownKey]:
    try:
        doc = json.loads(data)
        if doc.get("format") != FORMAT:
            raise SigningError(f"{source}: not a key registry (format {doc.get('format')!r})")
        return [_key_of_entry(e, source) for e in doc["keys"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SigningError(f"{source}: not a readable key registry: {exc}") from exc


# --- the installation's registry ------------------------------------------------------


def _read(keys_dir: Path) -> dict[str, Any]:
    path = keys_dir / REGISTRY
    if not path.is_file():
        return {"format": FORMAT, "keys": []}
    doc: dict[str, Any] = json.loads(path.read_bytes())
    return doc


def _write(keys_dir: Path, doc: dict[str, Any]) -> None:
    path = keys_dir / REGISTRY
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    tmp.replace(path)


def register(keys_dir: Path, public: Ed25519PublicKey, now: datetime, label: str = "") -> bool:
    """Put ``public`` in the installation's registry if it is not there; True if added."""
    doc = _read(keys_dir)
    fp = signing.fingerprint(public)
    if any(e["fingerprint"] == fp for e in doc["keys"]):
        return False
    doc["keys"].append(
        {
            "fingerprint": fp,
            "label": label or f"vms signing key {now.date().isoformat()}",
            "public_key": signing.public_pem(public).decode(),
            "published_at": utc(now).isoformat(),
            "retired_at": None,
            "revoked_at": None,
            "revoked_reason": None,
        }
    )
    _write(keys_dir, doc)
    return True


def registry_keys(keys_dir: Path) -> list[KnownKey]:
    return parse_registry(json.dumps(_read(keys_dir)).encode(), str(keys_dir / REGISTRY))


def mark(keys_dir: Path, fingerprint: str, now: datetime, *, revoke: str | None = None) -> KnownKey:
    """Retire (rotation) or, with ``revoke`` (a reason), revoke a key of the registry."""
    doc = _read(keys_dir)
    for entry in doc["keys"]:
        if entry["fingerprint"] == fingerprint:
            if revoke is not None:
                entry["revoked_at"] = entry.get("revoked_at") or utc(now).isoformat()
                entry["revoked_reason"] = revoke
            else:
                entry["retired_at"] = entry.get("retired_at") or utc(now).isoformat()
            _write(keys_dir, doc)
            return _key_of_entry(entry, str(keys_dir / REGISTRY))
    raise NotFoundError(
        f"no key {fingerprint} in the registry {keys_dir / REGISTRY}", subsystem=Subsystem.EVIDENCE
    )


def check_fingerprint(value: str) -> str:
    fp = value.lower().removeprefix("sha256:")
    if not _FINGERPRINT.match(fp):
        raise InvalidError(
            f"a key fingerprint is 64 hex digits (SHA-256), got {value!r}",
            subsystem=Subsystem.EVIDENCE,
        )
    return fp
