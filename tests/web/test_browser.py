"""The pages in a real browser (Debian's headless Chromium, driven by Playwright).

Each test keeps a screenshot of the page it looked at in test-artifacts/web/.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import func, select

from tests.conftest import ROOT, shared_file
from tests.support.waiting import wait_for
from tests.web.conftest import PASSWORD, Served
from vms.custody.alerts import escalate
from vms.custody.models import Alert as CustodyAlert
from vms.custody.presence import PresenceRecorder, RoomObservation
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.db.models import Segment
from vms.detection.events import DatabaseEventSink, EventRecord
from vms.evidence import signing
from vms.evidence.audit import list_entries
from vms.evidence.export import verify_package

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "web"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests use Debian's Chromium; install it with "
            "`apt-get install -y chromium chromium-driver` (scripts/setup --dev does)",
            pytrace=False,
        )
    profile = tempfile.mkdtemp(prefix="vms-chromium-")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, served: Served, username: str, next_path: str = "/") -> None:
    page.goto(f"{served.url}/login?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def test_login_and_every_page_of_every_role(served: Served, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(served.url + "/live")
    assert "/login" in page.url  # not logged in: sent to the login page
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error:has-text('wrong user name or password')")
    shot(page, "login")
    expected = {
        "admin": ["/cameras", "/bodyworn/admin", "/users"],
        "supervisor": ["/live", "/custody", "/bodyworn", "/cameras", "/bodyworn/admin"],
        "investigator": ["/search", "/playback", "/cases", "/bodyworn", "/cameras"],
        "auditor": ["/playback", "/bodyworn", "/audit", "/cameras"],
        "officer": ["/bodyworn", "/cameras"],
    }
    for username, pages in expected.items():
        log_in(page, served, username)
        assert page.url.endswith(pages[0])  # "/" leads to the role's first page
        menu = page.eval_on_selector_all("header nav a", "els => els.map(e => e.pathname)")
        assert sorted(menu) == sorted(pages)
        for path in pages:
            page.goto(served.url + path)
            if path == "/cameras":
                page.wait_for_selector("#cameras tr[data-camera=street-1] .badge.ok")
            if path == "/users":
                page.wait_for_selector("#users tr[data-user=auditor]")
            shot(page, f"{path.strip('/')}-{username}")
        page.click("#logout")
        page.wait_for_url("**/login")
    # A page outside the role: 403, said plainly.
    log_in(page, served, "auditor")
    res = page.goto(served.url + "/users")
    assert res is not None
    assert res.status == 403
    assert "may not do this" in page.inner_text("main")


VIDEO_STATE = """(video) => {
  const c = document.createElement('canvas');
  c.width = 64; c.height = 36;
  const g = c.getContext('2d');
  g.drawImage(video, 0, 0, 64, 36);
  const d = g.getImageData(0, 0, 64, 36).data;
  let sum = 0, sq = 0, n = 0;
  for (let i = 0; i < d.length; i += 4) {
    const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    sum += y; sq += y * y; n++;
  }
  const mean = sum / n;
  const q = video.getVideoPlaybackQuality();
  return {t: video.currentTime, w: video.videoWidth, h: video.videoHeight,
          frames: q.totalVideoFrames, std: Math.sqrt(sq / n - mean * mean)};
}"""


def test_live_wall_plays_the_rtsp_camera(served: Served, context: BrowserContext) -> None:
    page = context.new_page()
    log_in(page, served, "supervisor", "/live")
    video = page.locator(".tile[data-camera=street-1] video")
    page.wait_for_function(
        "v => v.currentTime > 0.5 && v.videoWidth > 0", arg=video.element_handle()
    )
    first = video.evaluate(VIDEO_STATE)
    page.wait_for_function(
        "([v, t]) => v.currentTime > t + 1.5", arg=[video.element_handle(), first["t"]]
    )
    later = video.evaluate(VIDEO_STATE)
    assert (later["w"], later["h"]) == (768, 432)
    assert later["t"] > first["t"] + 1.5
    assert later["frames"] > first["frames"] + 10
    assert later["std"] > 10, f"the decoded picture looks blank: {later}"
    page.wait_for_selector(".tile[data-camera=interview-1].playing")
    shot(page, "live-wall")


def test_alert_from_the_pipeline_shows_within_2_s_and_is_acknowledged(
    served: Served, context: BrowserContext
) -> None:
    page = context.new_page()
    log_in(page, served, "supervisor", "/live")
    page.wait_for_selector("#feed-state:has-text('live')")
    page.wait_for_selector(".tile[data-camera=street-1].playing")
    page.wait_for_selector(".tile[data-camera=interview-1].playing")
    # The analytics pipeline's own event writer, as when a rule fires (with its snapshot).
    sink = DatabaseEventSink(served.db, served.config.storage.root)
    now = datetime.now(UTC)
    fired = EventRecord(
        type="loitering",
        camera_id="interview-1",
        zone="table",
        start=now,
        end=None,
        track_ids=(7,),
        peak_count=1,
        confidence=0.91,
        began=now - timedelta(seconds=60),
        recording_start=now - timedelta(seconds=70),
        recording_end=None,
        severity="warning",
    )
    snapshot = shared_file("footage/avenue-frames/avenue_train10_0000.jpg").read_bytes()
    handle = sink.opened(fired, snapshot)
    assert sink.flush()
    written = time.monotonic()
    sink.close()
    row_id = getattr(handle, "row_id", None)
    assert row_id is not None
    item = f"#alerts [data-event-id='{row_id}']"
    page.wait_for_selector(item, timeout=2_000)
    assert time.monotonic() - written < 2.0
    text = page.inner_text(item)
    assert "Loitering" in text
    assert "Interview room one · table" in text
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=page.locator(f"{item} img.snap").element_handle(),
    )
    shot(page, "live-alert")
    page.fill(f"{item} input[name=note]", "checked the room by radio")
    page.click(f"{item} button[type=submit]")
    page.wait_for_selector(f"{item}.acked .ack-line:has-text('checked the room by radio')")
    assert "checked the room by radio" in page.inner_text(item)
    shot(page, "live-alert-acknowledged")


def test_custody_alert_escalates_live_on_the_wall_and_is_acknowledged_there(
    served: Served, context: BrowserContext
) -> None:
    raised = datetime.now(UTC)
    with served.db.session() as s:
        alert = CustodyAlert(
            key=f"browser-wall-{raised.timestamp()}",
            type="legal_clock_warning",
            severity="warning",
            level=1,
            room_id="interrogation-room-1",
            camera_id="interview-1",
            message="Li Si: 1 h left on the legal clock",
            data={},
            raised_at=raised,
        )
        s.add(alert)
        s.flush()
        alert_id = alert.id
    page = context.new_page()
    log_in(page, served, "supervisor", "/live")
    page.wait_for_selector("#feed-state:has-text('live')")
    item = f"#alerts [data-custody-id='{alert_id}']"
    page.wait_for_selector(f"{item}[data-level='1']")
    text = page.inner_text(item)
    assert "Level 1" in text
    assert "Legal time limit approaching" in text
    assert "Interrogation room 1 · Interview room one" in text
    cfg = served.config.custody.escalation
    for level, to in [(2, "custody supervisor"), (3, "duty commander")]:
        # Nobody acknowledged it: the custody checks escalate it, as they would at this time.
        at = raised + (level - 1) * timedelta(minutes=cfg.after_min)
        with served.db.session() as s:
            assert alert_id in [a.id for a in escalate(s, at, cfg)]
        escalated = time.monotonic()
        page.wait_for_selector(f"{item}[data-level='{level}']", timeout=2_000)
        assert time.monotonic() - escalated < 2.0
        assert f"Level {level}" in page.inner_text(f"{item} .level")
        assert to in page.inner_text(f"{item} .level-to")
        if level == 2:
            shot(page, "live-custody-alert")
    page.fill(f"{item} input[name=note]", "duty commander informed")
    page.click(f"{item} button[type=submit]")
    page.wait_for_selector(f"{item}.acked .ack-line:has-text('duty commander informed')")
    assert "supervisor" in page.inner_text(f"{item} .ack-line")
    with served.db.session() as s:
        row = s.get(CustodyAlert, alert_id)
        assert row is not None
        assert (row.acknowledged_by, row.ack_note, row.level) == (
            "supervisor",
            "duty commander informed",
            3,
        )
        assert row.ack_at is not None
    shot(page, "live-custody-acknowledged")


def test_playback_plays_recorded_segments_and_custody_needs_a_reason(
    served: Served, context: BrowserContext
) -> None:
    _wait_for_segments(served, "interview-1", 2)
    page = context.new_page()
    log_in(page, served, "investigator", "/playback")
    page.select_option("select[name=camera]", "street-1")
    page.click("#pick button[type=submit]")
    page.wait_for_selector("#timeline .seg")
    page.click("#ranges tbody tr:first-child")
    video = page.locator("#video")
    page.wait_for_function(
        "v => v.currentTime > 0.5 && v.videoWidth > 0", arg=video.element_handle()
    )
    state = video.evaluate(VIDEO_STATE)
    assert (state["w"], state["h"]) == (768, 432)
    assert state["std"] > 10
    shot(page, "playback")
    # A custody-room camera: no reason, no playback; with one, it plays and is audited.
    page.select_option("select[name=camera]", "interview-1")
    page.click("#pick button[type=submit]")
    page.wait_for_selector("#timeline .seg")
    page.click("#ranges tbody tr:first-child")
    page.wait_for_selector("#playback-error:has-text('give a reason')")
    shot(page, "playback-custody-reason")
    page.fill("input[name=reason]", "review of interview 17")
    street_src = video.evaluate("v => v.src")
    page.click("#ranges tbody tr:first-child")
    page.wait_for_function(
        "([v, old]) => v.src !== old && v.src.includes('grant') && v.currentTime > 0.5",
        arg=[video.element_handle(), street_src],
    )
    reasons = [
        (e.actor, e.reason)
        for e in list_entries(served.db, object_type="segment")
        if e.actor == "investigator"
    ]
    assert ("investigator", "review of interview 17") in reasons
    shot(page, "playback-custody")


def _complete_segments(served: Served, camera_id: str) -> int:
    with served.db.session() as s:
        return int(
            s.scalar(
                select(func.count()).where(
                    Segment.camera_id == camera_id, Segment.status == "complete"
                )
            )
            or 0
        )


def _wait_for_segments(served: Served, camera_id: str, count: int) -> None:
    wait_for(
        f"{count} recorded segments of {camera_id}",
        lambda: _complete_segments(served, camera_id) >= count,
        60,
    )


def test_clip_to_case_and_export_download_and_no_export_for_supervisors(
    served: Served, context: BrowserContext, tmp_path: Path
) -> None:
    _wait_for_segments(served, "street-1", 3)
    page = context.new_page()
    log_in(page, served, "investigator", "/cases")
    page.fill("#new-case input[name=number]", "B-2026-7")
    page.fill("#new-case input[name=title]", "Bicycle theft, Test street")
    page.click("#new-case button[type=submit]")
    page.wait_for_url("**/cases/*")
    case_url = page.url
    # Mark a range while playing, add it to the case.
    page.goto(served.url + "/playback")
    page.select_option("select[name=camera]", "street-1")
    page.click("#pick button[type=submit]")
    page.wait_for_selector("#timeline .seg")
    page.click("#ranges tbody tr:first-child")
    video = page.locator("#video")
    page.wait_for_function("v => v.currentTime > 0.3", arg=video.element_handle())
    page.click("#mark-in")
    page.wait_for_function("v => v.currentTime > 1.5", arg=video.element_handle())
    page.click("#mark-out")
    page.wait_for_function("() => document.querySelector('#clip select[name=case]').options.length")
    page.select_option("#clip select[name=case]", label="B-2026-7 · Bicycle theft, Test street")
    page.fill("#clip input[name=note]", "suspect leaves")
    page.click("#clip button[type=submit]")
    page.wait_for_selector("#clip .hint:has-text('added')")
    shot(page, "playback-add-clip")
    # The case shows the clip; export it and download the package.
    page.goto(case_url)
    page.wait_for_selector("#items tbody tr")
    assert "suspect leaves" in page.inner_text("#items")
    page.fill("#export input[name=reason]", "disclosure to the prosecutor")
    page.click("#export button[type=submit]")
    link = page.wait_for_selector("#exports a")
    assert link is not None
    with page.expect_download() as info:
        link.click()
    zipped = tmp_path / "package.zip"
    info.value.save_as(zipped)
    with zipfile.ZipFile(zipped) as z:
        z.extractall(tmp_path / "pkg")
    installation = (signing.keys_dir(served.config) / signing.PUBLIC_KEY).read_bytes()
    report = verify_package(zipped, installation)
    assert report.ok, report
    shot(page, "case")
    export_url = str(link.get_attribute("href"))
    page.click("#logout")
    page.wait_for_url("**/login")
    # A supervisor can open neither the case nor its export.
    log_in(page, served, "supervisor")
    res = page.goto(served.url + export_url)
    assert res is not None
    assert res.status == 403
    res = page.goto(case_url)
    assert res is not None
    assert res.status == 403
    shot(page, "case-supervisor-403")


def test_custody_page_counts_down_and_acknowledges(served: Served, context: BrowserContext) -> None:
    custody = CustodyService(served.db, served.config)
    person = custody.enter(
        name="Zhang San", reason="theft", basis="summons", room="interrogation-room-1", by="li"
    )
    officers = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]
    interview = custody.start_interview(person.id, officers=officers, by="li")
    with served.db.session() as s:
        alert = CustodyAlert(
            key=f"browser-{person.id}",
            type="person_alone",
            severity="critical",
            level=2,
            room_id="interrogation-room-1",
            camera_id="interview-1",
            message="Zhang San alone in Interrogation room 1",
            data={},
            raised_at=datetime.now(UTC),
        )
        s.add(alert)
        s.flush()
        alert_id = alert.id
    # The analytics pipeline sees two people in the room (the ledger says one).
    recorder = PresenceRecorder(served.db, served.config.custody.presence)
    recorder.observe(RoomObservation("interview-1", datetime.now(UTC), person_count=2))
    page = context.new_page()
    log_in(page, served, "supervisor", "/custody")
    row = f"#held tr[data-person='{person.id}']"
    page.wait_for_selector(row)
    first = page.inner_text(f"{row} .left")
    assert first.startswith("11:59:")  # a summons: 12 h
    page.wait_for_function(
        "([sel, t]) => document.querySelector(sel).textContent !== t",
        arg=[f"{row} .left", first],
    )
    assert "Li Wei (031245)" in page.inner_text("#interviews")
    card = "[data-room='interrogation-room-1']"
    assert "Zhang San" in page.inner_text(f"{card} .ledger")
    assert page.inner_text(f"{card} .video") == "on video: 2 people"
    item = f"#custody-alerts [data-alert='{alert_id}']"
    assert "level 2" in page.inner_text(item).lower()
    shot(page, "custody")
    page.fill(f"{item} input[name=note]", "officer sent to the room")
    page.click(f"{item} button[type=submit]")
    page.wait_for_selector(f"{item} .ack-line:has-text('officer sent to the room')")
    shot(page, "custody-acknowledged")
    custody.end_interview(interview.id, by="li")
    recorder.close()  # analytics stops: the count is unknown
    page.reload()
    page.wait_for_selector(f"{card} .video[data-video-count=unknown]")
    assert page.inner_text(f"{card} .video").startswith("on video: unknown (last seen ")


def test_audit_page_reports_interviews_and_verifies_the_chain(
    served: Served, context: BrowserContext, tmp_path: Path
) -> None:
    custody = CustodyService(served.db, served.config)
    person = custody.enter(
        name="Li Si", reason="fraud", basis="summons", room="interrogation-room-1", by="li"
    )
    officers = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]
    iv = custody.start_interview(person.id, officers=officers, by="li")
    # The interview lasts until the room's camera has closed a segment inside it.
    during = _complete_segments(served, "interview-1")
    wait_for("a segment recorded in the interview", lambda: _complete_segments(
        served, "interview-1") >= during + 1, 60)  # fmt: skip
    custody.end_interview(iv.id, by="li")
    page = context.new_page()
    log_in(page, served, "auditor", "/audit")
    page.click(f"#interviews tr[data-interview='{iv.id}']")
    page.wait_for_selector("#report:not([hidden]) .camera-report[data-camera='interview-1']")
    assert "Interview" in page.inner_text("#report-title")
    assert "hash check" in page.inner_text("#report-summary")
    # The room's camera sends no sound: the interview is incomplete for that alone, and the
    # report says why (an audio gap: the recording holds no audio stream).
    summary = page.inner_text("#report-summary")
    assert "complete (picture and sound): NO" in summary
    assert "sound: NO" in summary
    audio_gap = "#report .camera-report[data-camera='interview-1'] .audio-gap-row"
    assert page.locator(audio_gap).count() >= 1
    assert "AUDIO GAP" in page.inner_text(f"{audio_gap} >> nth=0")
    assert "holds no audio stream" in page.inner_text(f"{audio_gap} >> nth=0")
    # The court copy: asked for with a reason, rendered, downloaded as a signed package.
    page.fill("#court-copy input[name=reason]", "procuratorate review")
    page.click("#court-copy button[type=submit]")
    page.wait_for_selector("#court-copy-download:not([hidden])", timeout=120_000)
    assert "derived copy" in page.inner_text("#court-copy-state")
    with page.expect_download() as info:
        page.click("#court-copy-download")
    zpath = tmp_path / "court-copy.zip"
    info.value.save_as(zpath)
    key = signing.load_or_create_key(signing.keys_dir(served.config)).public_key()
    assert verify_package(zpath, trusted_key=signing.public_pem(key)).ok
    page.click("#verify")
    page.wait_for_selector("#verify-result:has-text('chain intact')")
    assert page.locator("#log tbody tr").count() > 0
    shot(page, "audit")


def test_search_then_play_the_recording_at_that_moment(
    served: Served, context: BrowserContext
) -> None:
    _wait_for_segments(served, "street-1", 3)
    with served.db.session() as s:
        seg = s.scalars(
            select(Segment)
            .where(Segment.camera_id == "street-1", Segment.status == "complete")
            .order_by(Segment.start)
        ).all()[1]
    moment = seg.start + timedelta(seconds=0.8)
    sink = DatabaseEventSink(served.db, served.config.storage.root)
    handle = sink.opened(
        EventRecord(
            type="intrusion",
            camera_id="street-1",
            zone="gate",
            start=moment,
            end=moment + timedelta(seconds=3),
            track_ids=(4,),
            peak_count=1,
            confidence=0.8,
            began=moment,
            recording_start=moment,
            recording_end=moment + timedelta(seconds=5),
            severity="warning",
        ),
        shared_file("footage/avenue-frames/avenue_train10_0001.jpg").read_bytes(),
    )
    sink.close()
    page = context.new_page()
    log_in(page, served, "investigator", "/search")
    page.check("#search input[name=camera][value=street-1]")
    page.check("#search input[name=type][value=intrusion]")
    page.click("#search button[type=submit]")
    result = f"#results [data-event-id='{getattr(handle, 'row_id', None)}']"
    page.wait_for_selector(result)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=page.locator(f"{result} img").element_handle(),
    )
    assert "Street one · gate" in page.inner_text(result)
    shot(page, "search")
    page.click(f"{result} a")
    page.wait_for_url("**/playback?camera=street-1*")
    video = page.locator("#video")
    page.wait_for_function("v => v.currentTime > 0.5", arg=video.element_handle())
    page.wait_for_function("() => document.getElementById('playing').textContent.endsWith('UTC+8')")
    local = page.inner_text("#playing").removesuffix(" UTC+8")  # the site's zone: Asia/Shanghai
    playing = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    assert abs((playing - moment).total_seconds()) < 2.5
    shot(page, "search-play")


def test_screenshots_were_kept() -> None:
    names = {p.name for p in ARTIFACTS.glob("*.png")} if ARTIFACTS.exists() else set()
    expected = {
        "login.png",
        "live-wall.png",
        "live-alert.png",
        "live-custody-alert.png",
        "playback.png",
        "search.png",
        "case.png",
        "custody.png",
        "audit.png",
        "cameras-admin.png",
        "users-admin.png",
    }
    assert expected <= names, names
