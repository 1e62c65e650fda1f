"""Login throttling: per user name and per address, a growing delay and a temporary lockout.

After ``delay_after`` failed logins each further try waits 1, 2, 4 ... seconds (at most
``max_delay_s``) after the last failure; ``lockout_after`` failures lock the name or the
address out for ``lockout_s``. Failures are forgotten ``window_s`` after the last one, and a
user name's on a successful login (an address's are not: a valid account of one's own must
not reset the count of guesses at others'). A throttled attempt is answered 429 with
``Retry-After`` before the password is looked at. Each refused password and each lockout is
in the audit log (vms.web.audit).

Counts live in the database (``login_throttle``), so every web process and node shares them;
they are written with single UPDATE statements (``failures = failures + 1``), so concurrent
failures are all counted. The decision is a pure function of the row and the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vms.clock import Clock, utc
from vms.config import LoginThrottleConfig
from vms.db.session import Database
from vms.errors import TooManyAttemptsError
from vms.evidence.audit import Actor, append
from vms.vocab import Subsystem
from vms.web.models import LoginThrottle


@dataclass(frozen=True)
class Attempts:
    failures: int = 0
    last_at: datetime | None = None
    locked_until: datetime | None = None


def wait_s(a: Attempts, now: datetime, policy: LoginThrottleConfig) -> float:
    """Seconds before another try may be made (0: now)."""
    if a.locked_until is not None and now < a.locked_until:
        return (a.locked_until - now).total_seconds()
    if a.last_at is None or (now - a.last_at).total_seconds() > policy.window_s:
        return 0.0
    if a.failures < policy.delay_after:
        return 0.0
    delay = min(policy.max_delay_s, 2.0 ** (a.failures - policy.delay_after))
    return max(0.0, (a.last_at + timedelta(seconds=delay) - now).total_seconds())


def keys_of(username: str, address: str) -> tuple[str, str]:
    return f"user:{username.strip().lower()[:200]}", f"addr:{address[:200]}"


def _attempts(s: Session, key: str) -> Attempts:
    row = s.get(LoginThrottle, key)
    if row is None:
        return Attempts()
    return Attempts(row.failures, row.last_at, row.locked_until)


class LoginThrottler:
    """The throttle of one web application (its policy, database and clock)."""

    def __init__(self, db: Database, policy: LoginThrottleConfig, clock: Clock) -> None:
        self.db = db
        self.policy = policy
        self.clock = clock

    def check(self, username: str, address: str) -> None:
        """TooManyAttemptsError (429) if the name or the address must wait."""
        now = utc(self.clock.now())
        user_key, addr_key = keys_of(username, address)
        with self.db.session() as s:
            waits = {k: wait_s(_attempts(s, k), now, self.policy) for k in (user_key, addr_key)}
        key, wait = max(waits.items(), key=lambda kv: kv[1])
        if wait > 0:
            what = "this user name" if key == user_key else "this address"
            raise TooManyAttemptsError(
                f"too many failed logins for {what}: try again in {wait:.0f} s",
                wait,
                subsystem=Subsystem.WEB,
            )

    def failed(self, username: str, address: str, context: dict[str, str]) -> None:
        """Count a failed login for the name and the address; lock out past the limit."""
        now = utc(self.clock.now())
        forget = now - timedelta(seconds=self.policy.window_s)
        for key in keys_of(username, address):
            with self.db.session() as s:
                try:
                    with s.begin_nested():
                        s.add(LoginThrottle(key=key, failures=0, last_at=now))
                except IntegrityError:
                    pass  # there already (another process may have made it just now)
                failures = s.execute(
                    update(LoginThrottle)
                    .where(LoginThrottle.key == key)
                    .values(
                        failures=case(
                            (LoginThrottle.last_at < forget, 1), else_=LoginThrottle.failures + 1
                        ),
                        last_at=now,
                    )
                    .returning(LoginThrottle.failures)
                ).scalar_one()
                if failures >= self.policy.lockout_after:
                    until = now + timedelta(seconds=self.policy.lockout_s)
                    s.execute(
                        update(LoginThrottle)
                        .where(LoginThrottle.key == key)
                        .values(locked_until=until, failures=0)
                    )
                    append(
                        s,
                        self.clock,
                        Actor(
                            "anonymous",
                            f"locked out after {failures} failed logins",
                            context=context,
                        ),
                        "lockout",
                        "user" if key.startswith("user:") else "address",
                        key.split(":", 1)[1],
                        details={"locked_until": until.isoformat(), "failures": failures},
                    )

    def succeeded(self, s: Session, username: str) -> None:
        """A correct password: the name's failures are forgotten (the address's are not).
        In the login's own transaction ``s`` (it may hold SQLite's write lock already)."""
        user_key, _ = keys_of(username, "")
        s.execute(delete(LoginThrottle).where(LoginThrottle.key == user_key))

    def state(self, key: str) -> Attempts:
        with self.db.session() as s:
            return _attempts(s, key)
