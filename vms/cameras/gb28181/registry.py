"""The platform's decisions, as pure functions of (state, now): who may register, who is online.

decide_register(credentials, password, nonce_age, ...) -> RegisterDecision
offline_reason(registration, now, interval_s, misses)  -> None while online, else why
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from vms.cameras.gb28181.digest import Credentials, verify

SipTransport = Literal["udp", "tcp"]


class RegisterVerdict(StrEnum):
    CHALLENGE = "challenge"  # 401 with a fresh nonce
    STALE = "stale"  # 401, stale=TRUE: right password, old nonce
    ACCEPT = "accept"  # 200
    FORBIDDEN = "forbidden"  # 403: unknown device, wrong password, wrong realm


@dataclass(frozen=True)
class RegisterDecision:
    verdict: RegisterVerdict
    reason: str = ""


def decide_register(
    device_id: str,
    credentials: Credentials | None,
    password: str | None,
    realm: str,
    nonce_age_s: float | None,
    nonce_ttl_s: float,
) -> RegisterDecision:
    """What to answer a REGISTER from ``device_id``.

    ``nonce_age_s`` is None when the nonce in the credentials is not one we issued.
    """
    if password is None:
        return RegisterDecision(RegisterVerdict.FORBIDDEN, f"device {device_id} is not allowed")
    if credentials is None:
        return RegisterDecision(RegisterVerdict.CHALLENGE)
    if credentials.username != device_id:
        return RegisterDecision(
            RegisterVerdict.FORBIDDEN, f"username {credentials.username[:40]!r} is not {device_id}"
        )
    if credentials.realm != realm:
        return RegisterDecision(RegisterVerdict.CHALLENGE, "realm of another platform")
    if nonce_age_s is None or nonce_age_s < -5:
        return RegisterDecision(RegisterVerdict.CHALLENGE, "nonce not issued by this platform")
    if not verify(credentials, password, "REGISTER"):
        return RegisterDecision(RegisterVerdict.FORBIDDEN, f"wrong password for {device_id}")
    if nonce_age_s > nonce_ttl_s:
        return RegisterDecision(RegisterVerdict.STALE, "nonce expired")
    return RegisterDecision(RegisterVerdict.ACCEPT)


def granted_expires(asked: int | None, default_s: int) -> int:
    """Registration lifetime: what the device asked for, within 60 s .. 1 day."""
    if asked is None:
        return default_s
    return max(60, min(asked, 86400))


@dataclass(frozen=True)
class Registration:
    """A registered device: where to reach it and when it was last heard from."""

    device_id: str
    transport: SipTransport
    host: str
    port: int
    registered_at: datetime
    expires_at: datetime
    last_keepalive_at: datetime | None = None

    def heard(self, now: datetime) -> Registration:
        return replace(self, last_keepalive_at=now)

    @property
    def last_heard(self) -> datetime:
        if self.last_keepalive_at is None:
            return self.registered_at
        return max(self.registered_at, self.last_keepalive_at)


def offline_reason(reg: Registration, now: datetime, interval_s: float, misses: int) -> str | None:
    """None while the device counts as online; otherwise why it does not."""
    if now >= reg.expires_at:
        return "registration expired"
    silent = now - reg.last_heard
    if silent > timedelta(seconds=interval_s * misses):
        return (
            f"device offline: missed {misses} keepalives "
            f"({silent.total_seconds():.0f} s without one, period {interval_s:g} s)"
        )
    return None


#: RFC 3261 timers for requests vms sends over UDP: T1, T2, and the give-up time (64*T1).
T1_S, T2_S = 0.5, 4.0


def retransmit_due(sent_at: float, attempts: int, now: float) -> bool:
    """Whether a UDP request sent ``attempts`` times, first at ``sent_at``, is due again."""
    elapsed = sum(min(T1_S * 2**i, T2_S) for i in range(attempts))
    return bool(now - sent_at >= elapsed)
