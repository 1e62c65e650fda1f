"""Alerts across nodes: LISTEN/NOTIFY wakes every web node's feed the moment an event commits
anywhere; an event committed after a newer one still reaches the feed; once-only jobs hold a
PostgreSQL advisory lock that moves when its holder's session ends."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from vms.cluster.locks import JobLocks
from vms.db.migrate import upgrade
from vms.db.models import Camera, Event
from vms.db.session import Database
from vms.web.alerts import AlertBroadcaster, Listener
from vms.web.roles import Role
from vms.web.schemas import AlertMessage
from vms.web.users import Principal

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
WATCHER = Principal(1, "duty", Role.ADMIN, None, "session")


def _event(s: Session, kind: str = "loitering") -> int:
    ev = Event(type=kind, camera_id="cam-a", start=NOW, severity="warning", data={})
    s.add(ev)
    s.flush()
    return ev.id


def test_an_event_committed_on_another_node_wakes_the_feed_and_late_commits_are_not_lost(
    postgres_url: str, tmp_path: Path
) -> None:
    web_node = Database(postgres_url)
    upgrade(web_node.engine)
    recorder = Database(postgres_url)  # "node A": another engine, other connections
    with recorder.session() as s:
        s.add(
            Camera(
                id="cam-a",
                name="A",
                kind="street",
                site="x",
                room=None,
                room_type=None,
                source="rtsp://a",
                record=True,
                retention_days=30,
                updated_at=NOW,
            )
        )

    async def scenario() -> list[AlertMessage]:
        # Polling every minute: anything seen within the deadline came by NOTIFY.
        feed = AlertBroadcaster(web_node, tmp_path, interval_s=60, fallback_s=60)
        feed.start()
        try:
            await asyncio.wait_for(_until(lambda: feed.listening), 30)
            listener = feed.subscribe(WATCHER, after=0)
            await asyncio.sleep(0)  # the feed's first poll (nothing there yet)
            got: list[AlertMessage] = []

            def commit_one() -> int:
                with recorder.session() as s:
                    return _event(s)

            first = await asyncio.to_thread(commit_one)
            got.append(await _next_alert(listener))
            # Two writers: the lower id commits after the higher one was sent.
            slow = recorder.engine.connect()
            tx = slow.begin()
            with Session(bind=slow) as s_slow:
                early = _event(s_slow, "person_down")
                later = await asyncio.to_thread(commit_one)
                got.append(await _next_alert(listener))
                tx.commit()
            slow.close()
            got.append(await _next_alert(listener))
            assert [g.id for g in got] == [first, later, early]
            return got
        finally:
            await feed.close()

    got = asyncio.run(scenario())
    assert got[2].type == "person_down"
    assert got[2].late
    web_node.dispose()
    recorder.dispose()
    # Every connection went back to its pool before the pools were disposed: a leaked one
    # warns (an error here) when collected.
    gc.collect()


async def _next_alert(listener: Listener) -> AlertMessage:
    while True:
        message = await asyncio.wait_for(listener.queue.get(), 30)
        if isinstance(message, AlertMessage):
            return message


async def _until(cond: object) -> None:
    assert callable(cond)
    while not cond():
        await asyncio.sleep(0.05)


def test_a_once_only_job_runs_on_one_node_and_moves_when_its_holder_goes(postgres_url: str) -> None:
    a, b = JobLocks(postgres_url, "node-a"), JobLocks(postgres_url, "node-b")
    assert a.holds("retention")
    assert not b.holds("retention")  # exactly one node at a time
    assert a.holds("retention")  # and it stays with its holder
    assert b.holds("briefing")  # another job may be held elsewhere
    assert not a.holds("briefing")
    a.release_all()  # node A's sessions end (as when it dies)
    assert b.holds("retention")
    assert not a.holds("retention")
    b.release_all()
    sqlite = JobLocks("sqlite:///x.db", "only")
    assert sqlite.holds("retention")  # one node: every job runs
