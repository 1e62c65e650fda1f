"""A probe child that dies the way a decoder does on a hostile file (tests only)."""

from __future__ import annotations

import os
from multiprocessing.connection import Connection


def abort_child(conn: Connection, path: str) -> None:
    os.abort()
