"""The installation's signing keys as acts on the record: publish, rotate, revoke (audited).

The registry file itself is kept by ``vms.evidence.trust``; these functions change it and the
key pair together, each with its audit entry written in the same transaction (a failed file
operation rolls the entry back).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vms.clock import Clock
from vms.config import Config
from vms.db.session import Database
from vms.errors import ConflictError, StorageError
from vms.evidence import audit, signing, trust
from vms.evidence.audit import Actor
from vms.evidence.trust import KnownKey
from vms.vocab import Subsystem


@dataclass(frozen=True)
class KeysView:
    """The current key's fingerprint and every key the registry holds."""

    folder: Path
    current: str | None
    keys: list[KnownKey]

    def to_dict(self) -> dict[str, Any]:
        return {
            "keys_dir": str(self.folder),
            "registry": str(self.folder / trust.REGISTRY),
            "current": self.current,
            "keys": [k.to_dict() for k in self.keys],
        }


def ensure_published(config: Config, clock: Clock) -> str:
    """The current key (made on first use) is in the registry; returns its fingerprint."""
    folder = signing.keys_dir(config)
    key = signing.load_or_create_key(folder).public_key()
    trust.register(folder, key, clock.now())
    return signing.fingerprint(key)


def show_keys(config: Config, clock: Clock) -> KeysView:
    folder = signing.keys_dir(config)
    current = ensure_published(config, clock)
    return KeysView(folder, current, trust.registry_keys(folder))


def publish(config: Config, clock: Clock, out: Path) -> KeysView:
    """Copy the registry to ``out`` for the bureau to publish (web site, letter to the court)."""
    view = show_keys(config, clock)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(view.folder / trust.REGISTRY, out)
    except OSError as exc:
        raise StorageError(f"cannot write the key registry to {out}: {exc.strerror}") from exc
    return view


def rotate(db: Database, config: Config, clock: Clock, actor: Actor) -> tuple[str, str]:
    """A new signing key; the old one is retired in the registry (packages it signed still
    verify) and its private key destroyed. Returns (old fingerprint, new fingerprint)."""
    folder = signing.keys_dir(config)
    old = ensure_published(config, clock)
    with db.session() as s:
        audit.lock_chain(s)
        key = signing.replace_key(folder)
        new = signing.fingerprint(key.public_key())
        now = clock.now()
        trust.mark(folder, old, now)
        trust.register(folder, key.public_key(), now)
        audit.append(
            s,
            clock,
            actor,
            "update",
            "signing_key",
            new,
            details={"what": "rotate", "retired": old, "current": new},
        )
    return old, new


def revoke(db: Database, config: Config, clock: Clock, actor: Actor, fingerprint: str) -> KnownKey:
    """Mark a key revoked (compromised): packages it signed no longer verify as trusted.

    The current key cannot be revoked while it signs; rotate first.
    """
    folder = signing.keys_dir(config)
    fp = trust.check_fingerprint(fingerprint)
    current = signing.current_public(folder)
    if current is not None and signing.fingerprint(current) == fp:
        raise ConflictError(
            f"key {fp} is the current signing key: rotate it (vms evidence keys rotate) "
            "before revoking it",
            subsystem=Subsystem.EVIDENCE,
        )
    with db.session() as s:
        audit.lock_chain(s)
        key = trust.mark(folder, fp, clock.now(), revoke=actor.reason)
        audit.append(s, clock, actor, "update", "signing_key", fp, details={"what": "revoke"})
    return key
