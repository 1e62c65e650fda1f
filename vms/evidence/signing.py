"""The export signing key: an Ed25519 key pair made on first use in the configured folder.

The private key never leaves that folder (mode 0600); it is encrypted when
$VMS_SIGNING_KEY_PASSPHRASE is set. Packages carry the public key and its SHA-256 fingerprint,
which a court compares with the one the bureau publishes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vms.config import Config
from vms.errors import SigningError

PRIVATE_KEY = "signing-key.pem"
PUBLIC_KEY = "signing-key.pub.pem"
PASSPHRASE_ENV = "VMS_SIGNING_KEY_PASSPHRASE"  # noqa: S105 (the variable's name)
ALGORITHM = "Ed25519"


def keys_dir(config: Config) -> Path:
    return config.evidence.keys_dir or config.storage.root / "keys"


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode("utf-8") if value else None


def load_or_create_key(folder: Path) -> Ed25519PrivateKey:
    """The signing key in ``folder``; made (with its public key beside it) if there is none."""
    path = folder / PRIVATE_KEY
    if not path.exists():
        _create(folder)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read the signing key {path}: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=_passphrase())
    except (ValueError, TypeError) as exc:
        raise SigningError(
            f"cannot load the signing key {path} (wrong or missing ${PASSPHRASE_ENV}?): {exc}"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path} is not an Ed25519 private key")
    return key


def _create(folder: Path) -> None:
    _write_new(folder, PRIVATE_KEY, Ed25519PrivateKey.generate())


def _write_new(folder: Path, name: str, key: Ed25519PrivateKey) -> bool:
    """Write ``key`` as ``folder/name`` (0600) and its public key; False if the file exists."""
    passphrase = _passphrase()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_EXCL: two first exports at once must not make two keys.
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise SigningError(f"cannot create the signing key in {folder}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(private)
        f.flush()
        os.fsync(f.fileno())
    if name == PRIVATE_KEY:
        (folder / PUBLIC_KEY).write_bytes(public_pem(key.public_key()))
    return True


def replace_key(folder: Path) -> Ed25519PrivateKey:
    """A new signing key in place of the current one, whose private key is destroyed.

    The new key is written beside the old one and renamed over it, so a crash leaves one
    complete key; its public key then replaces the old public key.
    """
    key = Ed25519PrivateKey.generate()
    staged = PRIVATE_KEY + ".new"
    with contextlib.suppress(FileNotFoundError):
        (folder / staged).unlink()
    _write_new(folder, staged, key)
    try:
        os.replace(folder / staged, folder / PRIVATE_KEY)
        tmp = folder / (PUBLIC_KEY + ".new")
        tmp.write_bytes(public_pem(key.public_key()))
        os.replace(tmp, folder / PUBLIC_KEY)
    except OSError as exc:
        raise SigningError(f"cannot replace the signing key in {folder}: {exc.strerror}") from exc
    return key


def current_public(folder: Path) -> Ed25519PublicKey | None:
    """The installation's current public key, if it has made one."""
    path = folder / PUBLIC_KEY
    return load_public(path.read_bytes(), str(path)) if path.is_file() else None


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public(data: bytes, source: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SigningError(f"{source} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{source} is not an Ed25519 public key")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 (hex) of the raw 32-byte public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def verify(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
