"""docs/benchmarks.md is written by the benchmarks: each owns one ``## `` section."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(heading: str, text: str, doc: Path = DOC) -> None:
    """Replace the section ``## heading`` of ``doc`` with ``text`` (or append it), leaving
    every other section alone."""
    old = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _m: text.rstrip("\n") + "\n\n", old)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    doc.write_text(new.rstrip("\n") + "\n", encoding="utf-8")
