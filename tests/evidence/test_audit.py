"""The audit log: hash chain, append-only triggers, tamper detection, concurrent writers."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from tests.evidence.conftest import ALICE, T0
from tests.support.clock import FakeClock
from vms.db.session import Database
from vms.evidence import audit, cases
from vms.evidence.audit import Actor
from vms.evidence.models import GENESIS_HASH


def _history(db: Database, clock: FakeClock, n_cases: int = 3) -> None:
    """Six real audited actions: three cases created, one assigned, closed and reopened."""
    for i in range(n_cases):
        cases.create_case(db, clock, ALICE, f"2026-{i:03d}", f"case {i}")
        clock.advance(seconds=1)
    cases.assign(db, clock, ALICE, "2026-000", add=["bob"])
    cases.set_status(db, clock, Actor("bob", "done"), "2026-000", cases.CLOSED)
    cases.set_status(db, clock, Actor("carol", "new witness"), "2026-000", cases.OPEN)


def _tamper(db: Database, *statements: tuple[str, dict[str, Any]]) -> None:
    """Run SQL on the log as an intruder would: with the append-only triggers out of the way."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
            conn.exec_driver_sql("ALTER TABLE audit_head DISABLE TRIGGER USER")
        else:
            for trigger in (
                "audit_log_no_update",
                "audit_log_no_delete",
                "audit_head_no_insert",
                "audit_head_no_delete",
                "audit_head_forward",
            ):
                conn.exec_driver_sql(f"DROP TRIGGER {trigger}")
        for sql, params in statements:
            conn.execute(text(sql), params)


def _forged(db: Database, seq: int, prev_hash: str) -> dict[str, Any]:
    """A well-formed entry (its hash right) that nobody logged through vms."""
    at = T0 + timedelta(days=1)
    fields: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "actor": "mallory",
        "action": "view",
        "object_type": "case",
        "object_id": "1",
        "case_number": "2026-000",
        "reason": "just looking",
        "details": "{}",
        "prev_hash": prev_hash,
    }
    fields["hash"] = audit.entry_hash(**fields)
    if db.engine.dialect.name == "sqlite":
        fields["at"] = at.replace(tzinfo=None)
    return fields


def _hash_of(db: Database, seq: int) -> str:
    with db.engine.connect() as conn:
        return str(
            conn.execute(text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": seq}).one()[0]
        )


_INSERT = (
    "INSERT INTO audit_log (seq, at, actor, action, object_type, object_id, case_number, "
    "reason, details, prev_hash, hash) VALUES (:seq, :at, :actor, :action, :object_type, "
    ":object_id, :case_number, :reason, :details, :prev_hash, :hash)"
)


def test_every_action_is_chained_and_verifies(db: Database, clock: FakeClock) -> None:
    _history(db, clock)
    entries = audit.list_entries(db)
    assert [(e.seq, e.action, e.actor) for e in entries] == [
        (1, "create", "alice"),
        (2, "create", "alice"),
        (3, "create", "alice"),
        (4, "update", "alice"),
        (5, "update", "bob"),
        (6, "update", "carol"),
    ]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert entries[5].reason == "new witness"
    assert audit.AuditEntryView.of(entries[4]).details == {"status": ["open", "closed"]}
    report = audit.verify_chain(db)
    assert report.ok, report.problems
    assert (report.entries, report.head.seq, report.head.hash) == (6, 6, entries[5].hash)
    assert audit.chain_head(db) == (6, entries[5].hash)


def test_the_database_refuses_to_change_or_delete_entries(db: Database, clock: FakeClock) -> None:
    _history(db, clock, n_cases=1)
    for sql in ("UPDATE audit_log SET reason = 'x' WHERE seq = 1", "DELETE FROM audit_log"):
        with (
            pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"),
            db.engine.begin() as conn,
        ):
            conn.execute(text(sql))
    assert audit.verify_chain(db).ok


def test_the_database_refuses_to_move_the_chain_head_except_one_step_forward(
    db: Database, clock: FakeClock
) -> None:
    _history(db, clock, n_cases=3)
    seq, head = audit.chain_head(db)
    before = _hash_of(db, seq - 1)
    refused = [
        ("UPDATE audit_head SET seq = seq - 1, hash = :h", {"h": before}),  # back one entry
        ("UPDATE audit_head SET seq = seq + 1", {}),  # forward onto nothing
        ("UPDATE audit_head SET hash = :h", {"h": "f" * 64}),  # another head hash
        ("DELETE FROM audit_head", {}),
        ("INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, :h)", {"h": "0" * 64}),
    ]
    if db.engine.dialect.name == "postgresql":
        refused.append(("TRUNCATE audit_head", {}))
    for sql, params in refused:
        with (
            pytest.raises(sqlalchemy.exc.DatabaseError, match="audit_head only moves forward"),
            db.engine.begin() as conn,
        ):
            conn.execute(text(sql), params)
    assert audit.chain_head(db) == (seq, head)
    assert audit.verify_chain(db).ok


Tamper = Callable[[Database], list[tuple[str, dict[str, Any]]]]

TAMPERING: list[tuple[str, Tamper, list[tuple[int, str]]]] = [
    (
        "edit a reason",
        lambda db: [("UPDATE audit_log SET reason = 'routine' WHERE seq = 3", {})],
        [(3, "edited")],
    ),
    (
        "edit and re-hash the entry",
        lambda db: [
            (
                "UPDATE audit_log SET actor = :a, hash = :h WHERE seq = 3",
                {"a": "mallory", "h": _rehashed(db, 3, actor="mallory")},
            )
        ],
        [(3, "edited")],
    ),
    (
        "delete an entry",
        lambda db: [("DELETE FROM audit_log WHERE seq = 3", {})],
        [(3, "deleted")],
    ),
    (
        "delete the newest entry",
        lambda db: [("DELETE FROM audit_log WHERE seq = 6", {})],
        [(6, "deleted")],
    ),
    (
        "append a forged entry",
        lambda db: [(_INSERT, _forged(db, 7, _hash_of(db, 6)))],
        [(7, "inserted")],
    ),
    (
        "insert a forged entry and renumber the rest",
        lambda db: [
            ("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3", {}),
            ("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000", {}),
            (_INSERT, _forged(db, 3, _hash_of(db, 2))),
            ("UPDATE audit_head SET seq = 7", {}),
        ],
        [(3, "inserted"), (4, "renumbered")],
    ),
]


def _rehashed(db: Database, seq: int, **changes: Any) -> str:
    entry = next(e for e in audit.list_entries(db) if e.seq == seq)
    fields = audit.AuditEntryView.of(entry).model_dump()
    fields.update(changes)
    fields["details"] = entry.details
    fields["at"] = entry.at
    del fields["hash"]
    return audit.entry_hash(**fields)


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [(t, e) for _name, t, e in TAMPERING],
    ids=[name for name, _t, _e in TAMPERING],
)
def test_verify_names_the_tampered_entry(
    db: Database, clock: FakeClock, tamper: Tamper, expected: list[tuple[int, str]]
) -> None:
    _history(db, clock)
    _tamper(db, *tamper(db))
    report = audit.verify_chain(db)
    assert [(p.seq, p.kind) for p in report.problems] == expected, report.problems
    assert not report.ok


def test_concurrent_writers_never_fork_the_chain(db: Database, clock: FakeClock) -> None:
    writers, each = 4, 10
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(each):
                with db.session() as s:
                    audit.append(s, clock, Actor(f"user{n}", "load"), "view", "case", f"{n}-{i}")
        except BaseException as exc:  # collected: the assertion below shows it
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    entries = audit.list_entries(db)
    assert [e.seq for e in entries] == list(range(1, writers * each + 1))
    assert len({e.prev_hash for e in entries}) == writers * each  # no two share a parent
    assert audit.verify_chain(db).ok


def test_an_action_that_fails_leaves_no_entry(db: Database, clock: FakeClock) -> None:
    cases.create_case(db, clock, ALICE, "2026-001", "first")
    with pytest.raises(Exception, match="already taken"):
        cases.create_case(db, clock, ALICE, "2026-001", "again")
    clock.advance(minutes=1)
    assert [e.seq for e in audit.list_entries(db)] == [1]
    assert audit.verify_chain(db).ok
    assert audit.list_entries(db, since=clock.now() + timedelta(seconds=1)) == []
