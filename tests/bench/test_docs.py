"""The benchmarks' one writer of docs/benchmarks.md sections."""

from __future__ import annotations

from pathlib import Path

from bench.docs import write_section


def test_a_section_is_replaced_in_place_or_appended(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\n## Web\n\nold web\n\n## Live wall\n\nold wall\n\n## Export\n\nx\n"
    )
    write_section("Live wall", "## Live wall\n\nnew wall\n", doc)
    write_section("Analytics", "## Analytics\n\nnew table\n", doc)
    assert doc.read_text() == (
        "# Benchmarks\n\n## Web\n\nold web\n\n## Live wall\n\nnew wall\n\n## Export\n\nx\n\n"
        "## Analytics\n\nnew table\n"
    )
