"""Secrets: argon2 password hashes, random tokens stored as SHA-256, signed playback grants."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from functools import cache
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the user name is unknown, so a wrong name costs as long as a wrong
    password (made at the first such login, not at import: a hash is 0.1 s of every start)."""
    return _hasher.hash("not a password: timing equaliser")


def prepare_login_timing() -> None:
    """Make the unknown-user hash now (the web server's start), so no login pays for it."""
    _dummy_hash()


SESSION_PREFIX = "vms_s_"
TOKEN_PREFIX = "vms_t_"  # noqa: S105 -- a label in front of the secret, not a secret
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """An argon2id PHC string for ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; runs one argon2 verification either way."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token(prefix: str) -> str:
    """A random bearer secret (256 bits) with a prefix that says what it is."""
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256 (a stolen table gives no logins)."""
    return hashlib.sha256(token.encode()).hexdigest()


class GrantSigner:
    """Short-lived signed grants: "user U may fetch segment S until T".

    Playback is audited once, when it starts (``POST /api/playback``); the grant then covers
    the many HTTP range requests the video element makes. The key lives in memory: a restart
    voids every grant, which only means pressing play again.
    """

    def __init__(self, key: bytes | None = None, ttl_s: float = 4 * 3600) -> None:
        self._key = key or secrets.token_bytes(32)
        self.ttl_s = ttl_s

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

    @staticmethod
    def _scoped(scope: str, payload: str) -> str:
        # A grant for one kind of file (a segment, an evidence item) is no grant for another.
        return payload if scope == "segment" else f"{scope}:{payload}"

    def sign(
        self, user_id: int, segment_id: int, now: float | None = None, *, scope: str = "segment"
    ) -> str:
        expires = int((time.time() if now is None else now) + self.ttl_s)
        payload = f"{user_id}.{segment_id}.{expires}"
        return f"{payload}.{self._mac(self._scoped(scope, payload))}"

    def check(
        self,
        grant: str,
        user_id: int,
        segment_id: int,
        now: float | None = None,
        *,
        scope: str = "segment",
    ) -> bool:
        try:
            uid, sid, expires, mac = grant.split(".")
            payload = self._scoped(scope, f"{uid}.{sid}.{expires}")
            valid_mac = hmac.compare_digest(mac, self._mac(payload))
            current = time.time() if now is None else now
            return (
                valid_mac
                and int(uid) == user_id
                and int(sid) == segment_id
                and int(expires) >= current
            )
        except ValueError:
            return False


def same_origin_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site (``/cases/3?x=1``), else ``default``.

    Refused: anything with a scheme or host (``https://x``), protocol-relative (``//x``),
    backslashes (browsers read ``/\\x`` as ``//x``), control characters and spaces (stripped
    by browsers, so ``/\t/x`` is ``//x``), and anything longer than 2000 characters.
    """
    if not target or len(target) > 2000 or not target.startswith("/"):
        return default
    if target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
