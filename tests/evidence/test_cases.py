"""Cases: create, list, show (audited view), close and reopen, investigators."""

from __future__ import annotations

import pytest

from tests.evidence.conftest import ALICE
from tests.support.clock import FakeClock
from vms.db.session import Database
from vms.errors import ConflictError, InvalidError, NotFoundError
from vms.evidence import audit, cases
from vms.evidence.audit import Actor


def test_case_lifecycle(db: Database, clock: FakeClock) -> None:
    created = cases.create_case(
        db, clock, ALICE, "2026-000123", "Fight in cell 3", investigators=["bob", "carol", "bob"]
    )
    assert (created.number, created.status, created.owner) == ("2026-000123", "open", "alice")
    assert created.investigators == ("bob", "carol")
    assert created.created_at == clock.now()

    clock.advance(hours=1)
    changed = cases.assign(
        db, clock, Actor("alice", "reassigned"), "2026-000123", add=["dave"], remove=["bob"]
    )
    assert changed.investigators == ("carol", "dave")
    changed = cases.assign(db, clock, ALICE, "2026-000123", owner="carol")
    assert changed.owner == "carol"

    closed = cases.set_status(db, clock, Actor("carol", "charged"), "2026-000123", cases.CLOSED)
    assert (closed.status, closed.closed_at) == ("closed", clock.now())
    with pytest.raises(ConflictError, match="already closed"):
        cases.set_status(db, clock, ALICE, "2026-000123", cases.CLOSED)
    reopened = cases.set_status(db, clock, ALICE, "2026-000123", cases.OPEN)
    assert (reopened.status, reopened.closed_at) == ("open", None)

    cases.create_case(db, clock, ALICE, "2026/7", "Theft", owner="erin")
    assert [c.number for c in cases.list_cases(db)] == ["2026-000123", "2026/7"]
    assert [c.number for c in cases.list_cases(db, "open")] == ["2026-000123", "2026/7"]

    shown = cases.show_case(db, clock, Actor("frank", "supervisor review"), "2026/7")
    assert shown.owner == "erin"
    log = [(e.actor, e.action, e.case_number) for e in audit.list_entries(db)]
    assert log == [
        ("alice", "create", "2026-000123"),
        ("alice", "update", "2026-000123"),
        ("alice", "update", "2026-000123"),
        ("carol", "update", "2026-000123"),
        ("alice", "update", "2026-000123"),
        ("alice", "create", "2026/7"),
        ("frank", "view", "2026/7"),
    ]
    assert audit.AuditEntryView.of(
        audit.list_entries(db, case_number="2026-000123")[1]
    ).details == {
        "added": ["dave"],
        "removed": ["bob"],
    }


@pytest.mark.parametrize(
    ("number", "title", "error"),
    [
        ("", "t", "case number must be"),
        ("a b", "t", "case number must be"),
        ("x" * 65, "t", "case number must be"),
        ("2026-1", "  ", "needs a title"),
    ],
)
def test_bad_cases_are_refused(
    db: Database, clock: FakeClock, number: str, title: str, error: str
) -> None:
    with pytest.raises(InvalidError, match=error):
        cases.create_case(db, clock, ALICE, number, title)


def test_unknown_case_and_empty_user(db: Database, clock: FakeClock) -> None:
    with pytest.raises(NotFoundError, match="no case '404'"):
        cases.show_case(db, clock, ALICE, "404")
    with pytest.raises(InvalidError, match="user name"):
        Actor("  ", "why")
