"""ORM models of the web application: users, login sessions, API tokens, alert acknowledgements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vms.db.models import Base


class User(Base):
    """A person who logs in; ``camera_scope`` NULL means every camera."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), doc="admin, supervisor, investigator, auditor")
    password_hash: Mapped[str] = mapped_column(String(200), doc="argon2id, PHC string.")
    active: Mapped[bool] = mapped_column(default=True)
    camera_scope: Mapped[list[str] | None] = mapped_column(
        JSON, doc="Camera ids this user may see; NULL: all cameras."
    )
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    language: Mapped[str | None] = mapped_column(
        String(16), doc="zh-CN or en; NULL: the browser's language, else site.language."
    )


class LoginSession(Base):
    """A browser login; the cookie holds a random token, the row only its SHA-256."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (Index("ix_login_sessions_user", "user_id"),)


class ApiToken(Base):
    """A bearer token for scripts; shown once when made, stored as its SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_api_tokens_user", "user_id"),)


class AlertAck(Base):
    """An acknowledgement of an event in the alert feed, with who and a note.

    Kept by the web application until the custody alert model (escalation levels) owns
    acknowledgement; one event can be acknowledged more than once (each is kept).
    """

    __tablename__ = "alert_acks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]

    __table_args__ = (Index("ix_alert_acks_event", "event_id"),)
