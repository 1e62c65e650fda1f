"""The body-worn page in a real browser (Debian's Chromium, Playwright): an officer uploads a
recorder file with the progress bar and plays it; an investigator is told it is not theirs and
asks; a supervisor grants on the page; the investigator plays it."""

# ruff: noqa: F811 (fixtures imported from other modules are this module's parameters)
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Dialog, Page

from tests.bodyworn.conftest import T_REC, Media, media  # noqa: F401 (the session fixture)
from tests.web.conftest import PASSWORD, add_users, fake_health, make_config
from tests.web.test_browser import browser, context, shot  # noqa: F401 (fixtures)
from vms.bodyworn import officers
from vms.bootstrap import sync_cameras
from vms.clock import SystemClock
from vms.db.migrate import upgrade
from vms.db.session import Database
from vms.evidence.audit import Actor, list_entries
from vms.web.app import create_app
from vms.web.server import WebServer


@dataclass
class Site:
    url: str
    db: Database


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("bw-browser")
    config = make_config(tmp / "store")
    config.recordings_dir.mkdir(parents=True)
    db = Database(f"sqlite:///{tmp / 'vms.db'}")
    upgrade(db.engine)
    sync_cameras(db, config)
    add_users(db)
    clock, roster = SystemClock(), Actor("wang.sup", "duty roster")
    officers.add_officer(db, clock, roster, "031245", "Li Wei", "Patrol 1", username="officer")
    officers.add_device(db, clock, roster, "DSJ-A1")
    officers.assign(db, clock, roster, "DSJ-A1", "031245", start=T_REC - timedelta(days=30))
    server = WebServer(create_app(config, db, fake_health), "127.0.0.1", 0)
    server.start()
    try:
        yield Site(server.url, db)
    finally:
        server.stop()
        db.dispose()


def _log_in(page: Page, site: Site, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{site.url}/login?next=/bodyworn")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/bodyworn")


def _plays(page: Page) -> None:
    page.wait_for_function(
        "v => v.currentTime > 0.5 && v.videoWidth === 768",
        arg=page.locator("#video").element_handle(),
    )


def test_upload_play_ask_grant_play(
    site: Site,
    context: BrowserContext,
    media: Media,
    tmp_path: Path,
) -> None:
    page = context.new_page()
    _log_in(page, site, "officer")
    page.set_input_files("#upload input[name=files]", str(media.mp4.path))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#upload-log li:not(.error):has-text('file 1')")
    assert page.eval_on_selector("#upload-progress", "p => p.value") == 1
    shot(page, "bodyworn-upload")
    row = page.locator("#files tr[data-file='1']")
    row.wait_for()
    assert "031245" in row.inner_text()
    row.click()
    page.wait_for_selector("#access-note:has-text('Your own file')")
    page.click("#play")  # the officer's own file: no approval
    _plays(page)
    # An investigator: not theirs; asks with a reason.
    _log_in(page, site, "investigator")
    page.locator("#files tr[data-file='1']").click()
    page.wait_for_selector("#access-note:has-text('needs a supervisor')")
    assert page.locator("#play").is_disabled()
    page.fill("#reason", "case 2026-88: identify the suspect")
    page.click("#request")
    page.wait_for_selector("#approvals tr[data-approval]")
    # A supervisor grants it on the page (the reason is asked in a dialog).
    _log_in(page, site, "supervisor")

    def answer(dialog: Dialog) -> None:
        dialog.accept("approved for case 2026-88")

    page.once("dialog", answer)
    page.locator("#approvals tr[data-approval] button").first.click()
    page.wait_for_function("() => !document.querySelector('#approvals tr[data-approval] button')")
    shot(page, "bodyworn-approvals")
    # The investigator now plays it.
    _log_in(page, site, "investigator")
    page.locator("#files tr[data-file='1']").click()
    page.wait_for_function("() => !document.getElementById('play').disabled")
    page.fill("#reason", "review")
    page.click("#play")
    _plays(page)
    shot(page, "bodyworn-play")
    views = [(e.actor, e.action) for e in list_entries(site.db, object_type="bodyworn")]
    assert ("officer", "view") in views
    assert ("investigator", "view") in views
    assert [e.action for e in list_entries(site.db, object_type="bw_approval")] == [
        "request", "approve",
    ]  # fmt: skip
