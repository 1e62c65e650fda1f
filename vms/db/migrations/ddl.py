"""The column conventions every migration shares, written once.

The schema keeps a few conventions throughout: a table of records is keyed by an integer
``id``; every time is a timezone-aware timestamp; whoever did something is named in up to 100
characters (a user name, ``system``, ``cli:<login>``); a SHA-256 is 64 hex digits; a camera
is named by its 64-character id. A migration says which convention a column follows
(``ddl.moment("created_at")``) and the type behind it is spelt here, the same in every
revision.

This module sits beside ``versions/`` (never in it: every file there is a revision).
Migrations are history: once a revision that calls a helper has shipped, what the helper
emits must never change, or a fresh database and an upgraded one would differ. A new
convention gets a new helper.

Foreign keys and unique constraints stay explicit, listed after a table's columns: SQLite
keeps the text of each CREATE TABLE, and a constraint made inline by a column (``ForeignKey``,
``unique=True``) would be written in another place in it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

USER_NAME_LENGTH = 100
CAMERA_ID_LENGTH = 64
SHA256_HEX_LENGTH = 64


def key() -> sa.Column[int]:
    """The integer ``id`` primary key of a table of records."""
    return sa.Column("id", sa.Integer(), primary_key=True)


def ref(name: str, *, nullable: bool = False) -> sa.Column[int]:
    """A column that points at another table's integer ``key()``."""
    return sa.Column(name, sa.Integer(), nullable=nullable)


def moment(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    """A point in time, stored with its zone (the service writes UTC)."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def user_name(name: str, *, nullable: bool = False) -> sa.Column[str]:
    """A user name: ``users.username`` itself, and every column that records who did something
    (``created_by``, ``moved_by``, ...: a user name, ``system`` or ``cli:<login>``)."""
    return sa.Column(name, sa.String(length=USER_NAME_LENGTH), nullable=nullable)


def sha256(name: str = "sha256", *, nullable: bool = False) -> sa.Column[str]:
    """A SHA-256 digest in hex."""
    return sa.Column(name, sa.String(length=SHA256_HEX_LENGTH), nullable=nullable)


def camera_id(*, nullable: bool = False) -> sa.Column[str]:
    """The ``camera_id`` of the camera a row belongs to (``cameras.id``)."""
    return sa.Column("camera_id", sa.String(length=CAMERA_ID_LENGTH), nullable=nullable)


def drop_tables(*names: str) -> None:
    """Drop tables in the order given (dependents first); their indexes go with them."""
    for name in names:
        op.drop_table(name)
