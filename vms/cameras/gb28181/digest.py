"""SIP digest authentication (RFC 2617 / RFC 3261 22.4), MD5 as GB/T 28181 devices use it.

Nonces are stateless: ``<unix time>.<HMAC of it>``, so a restarted platform still knows a
fresh nonce from a forged or stale one and nothing is kept per challenge. Pure functions.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from vms.cameras.gb28181.sip import SipError

_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]+)\s*(?:,|$)')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def make_nonce(secret: bytes, now_s: float) -> str:
    stamp = str(int(now_s))
    mac = hmac.new(secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
    return f"{stamp}.{mac}"


def nonce_age(secret: bytes, nonce: str, now_s: float) -> float | None:
    """Seconds since we issued ``nonce``; None if we never did (forged, or another secret)."""
    stamp, _, mac = nonce.partition(".")
    if not stamp.isdigit() or len(stamp) > 12:
        return None
    want = hmac.new(secret, stamp.encode(), hashlib.sha256).hexdigest()[:24]
    if not hmac.compare_digest(want, mac):
        return None
    return now_s - int(stamp)


def challenge(realm: str, nonce: str, *, stale: bool = False) -> str:
    """The WWW-Authenticate value of a 401."""
    value = f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5, qop="auth"'
    return value + (", stale=TRUE" if stale else "")


@dataclass(frozen=True)
class Credentials:
    """An Authorization header's digest parameters."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None

    @classmethod
    def parse(cls, value: str) -> Credentials:
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() != "digest":
            raise SipError(f"authorization scheme {scheme[:20]!r} is not Digest", 400)
        params: dict[str, str] = {}
        pos = 0
        rest = rest.strip()
        while pos < len(rest):
            m = _PARAM.match(rest, pos)
            if m is None:
                raise SipError("malformed Authorization parameters", 400)
            key, val = m.group(1).lower(), m.group(2)
            if val.startswith('"'):
                val = val[1:-1].replace('\\"', '"')
            params[key] = val
            pos = m.end()
        try:
            creds = cls(
                username=params["username"],
                realm=params["realm"],
                nonce=params["nonce"],
                uri=params["uri"],
                response=params["response"].lower(),
                algorithm=params.get("algorithm", "MD5"),
                qop=params.get("qop"),
                nc=params.get("nc"),
                cnonce=params.get("cnonce"),
            )
        except KeyError as exc:
            raise SipError(f"Authorization lacks {exc.args[0]}", 400) from None
        if creds.algorithm.upper() != "MD5":
            raise SipError(f"digest algorithm {creds.algorithm[:20]} is not supported", 400)
        if creds.qop is not None and (creds.qop != "auth" or not creds.nc or not creds.cnonce):
            raise SipError("qop=auth needs nc and cnonce", 400)
        return creds


def response_for(
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    *,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
) -> str:
    """The digest a client sends (and the server expects)."""
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if qop:
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


def verify(creds: Credentials, password: str, method: str) -> bool:
    want = response_for(
        creds.username,
        creds.realm,
        password,
        method,
        creds.uri,
        creds.nonce,
        qop=creds.qop,
        nc=creds.nc,
        cnonce=creds.cnonce,
    )
    return hmac.compare_digest(want, creds.response)
