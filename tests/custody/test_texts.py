"""What custody alerts say: the time left *now* in the reader's language and local time, and
a back-dated entry's first alert at level 1 (issue 16, honest pages)."""

from __future__ import annotations

from datetime import timedelta

from tests.custody.conftest import T0
from tests.custody.test_job import alerts, at, enter, record
from tests.support.clock import FakeClock
from vms.custody.job import run_custody_checks
from vms.custody.service import CustodyService
from vms.custody.texts import alert_text
from vms.custody.views import AlertView
from vms.i18n import texts_for

EN = texts_for("en", "UTC")
ZH = texts_for("zh-CN", "Asia/Shanghai")


def test_legal_clock_warning_says_the_time_left_now(svc: CustodyService, clock: FakeClock) -> None:
    enter(svc, "cell-1", basis="custom", limit_h=2.0)
    record(svc, "cell-cam", at(), at(minutes=180))
    clock.set(at(minutes=60))  # 60 min before the limit: the first warning
    run_custody_checks(svc.db, svc.config, clock)
    (warning,) = alerts(svc, "legal_clock_warning")
    data = AlertView.of(warning)
    assert warning.message.startswith("Zhang San: 1 h 00 min left to the legal limit")
    # Read 25 minutes later, it says what is left then, not what was left when raised.
    later = clock.now() + timedelta(minutes=25)
    assert alert_text(data, later, EN).startswith("Zhang San: 35 min left to the legal limit")
    assert alert_text(data, later, EN).endswith("at 2026-03-02 10:00")  # T0 + 2 h, UTC
    zh = alert_text(data, later, ZH)
    assert zh.startswith("Zhang San：距法定时限还有 35分钟")
    assert "2026-03-02 18:00" in zh  # the same deadline in Beijing time
    assert "其他（进入时填写时限）" in zh  # the legal basis' title, translated
    after = at(minutes=130)
    assert "passed at 2026-03-02 10:00" in alert_text(data, after, EN)


def test_limit_reached_counts_the_time_over_until_release(
    svc: CustodyService, clock: FakeClock
) -> None:
    pid = enter(svc, "cell-1", basis="custom", limit_h=1.0)
    record(svc, "cell-cam", at(), at(minutes=180))
    clock.set(at(minutes=70))
    run_custody_checks(svc.db, svc.config, clock)
    (limit,) = alerts(svc, "legal_clock_limit")
    assert ", 10 min ago; still held" in alert_text(AlertView.of(limit), clock.now(), EN)
    clock.set(at(minutes=100))
    svc.exit(pid, by="desk")
    run_custody_checks(svc.db, svc.config, clock)
    (limit,) = alerts(svc, "legal_clock_limit")
    # Cleared at the release: the sentence stops counting there.
    later = clock.now() + timedelta(hours=5)
    assert ", 40 min ago;" in alert_text(AlertView.of(limit), later, EN)


def test_alerts_of_older_rows_keep_their_stored_sentence() -> None:
    row = {"type": "person_alone", "data": {"from": T0.isoformat()}, "message": "as stored"}
    assert alert_text(row, T0, ZH) == "as stored"
    assert alert_text({"type": "new_kind", "data": {}, "message": "m"}, T0, EN) == "m"


def test_back_dated_entry_starts_at_level_one(svc: CustodyService, clock: FakeClock) -> None:
    """Entered 13 h ago on a 12 h summons: the alerts about the past are raised now at level 1
    and escalate from now, instead of arriving at the top level at once."""
    clock.set(at(minutes=13 * 60))
    enter(svc, "cell-1", at=at())
    record(svc, "cell-cam", at(), at(minutes=14 * 60))
    run_custody_checks(svc.db, svc.config, clock)
    (limit,) = alerts(svc, "legal_clock_limit")
    assert limit.raised_at == at(minutes=12 * 60)  # when the situation began
    assert limit.opened_at == clock.now()  # when vms raised it
    assert limit.level == 1
    assert AlertView.of(limit).opened_at == clock.now()
    for minutes, level in [(4.9, 1), (5, 2), (10, 3)]:
        clock.set(at(minutes=13 * 60 + minutes))
        run_custody_checks(svc.db, svc.config, clock)
        (limit,) = alerts(svc, "legal_clock_limit")
        assert limit.level == level, minutes
    assert limit.escalated_at == at(minutes=13 * 60 + 10)
