"""docs/security.md names the tests that show each protection: every one it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


def _defined_tests() -> set[str]:
    found: set[str] = set()
    for path in TESTS.rglob("test_*.py"):
        found.update(re.findall(r"^(?:async )?def (test_\w+)\(", path.read_text(), re.M))
    return found


def test_the_security_page_names_only_tests_and_files_that_exist() -> None:
    page = (ROOT / "docs" / "security.md").read_text()
    quoted = re.findall(r"`([^`\s]+)`", page)
    names = {q for q in quoted if re.fullmatch(r"test_\w+", q)}
    files = {q for q in quoted if re.fullmatch(r"(tests/)?[\w/]*test_\w+\.py", q)}
    assert len(names) >= 10, names  # the page still cites its tests
    assert len(files) >= 8, files
    missing_names = sorted(names - _defined_tests())
    test_files = {p.relative_to(ROOT).as_posix() for p in TESTS.rglob("test_*.py")}
    missing_files = sorted(
        f for f in files if f not in test_files and not any(t.endswith("/" + f) for t in test_files)
    )
    assert not missing_names, f"docs/security.md names missing tests: {missing_names}"
    assert not missing_files, f"docs/security.md names missing test files: {missing_files}"
    for section in ("## Who may do what", "## Out of scope", "## The signing key"):
        assert section in page, section
