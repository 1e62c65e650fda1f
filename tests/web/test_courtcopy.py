"""Court copies from the web API: asked for with a reason, rendered in the background,
downloaded as a signed package, every step audited."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.footage import Take, record_segments
from tests.support.waiting import wait_for
from tests.web.conftest import login
from vms.config import Config
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.db.session import Database
from vms.evidence import signing
from vms.evidence.audit import list_entries
from vms.evidence.export import verify_package

T0 = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
OFFICERS = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]


@pytest.fixture
def interviews(web_db: Database, web_config: Config, tmp_path: Path) -> tuple[int, int]:
    """(an ended interview with 6 s of recorded picture and sound, one still going on)."""
    record_segments(
        web_db, web_config.storage.root, Take("interview-1"), T0, 8.0, work=tmp_path / "streams"
    )
    svc = CustodyService(web_db, web_config)
    room = "interrogation-room-1"
    a = svc.enter(name="张三", reason="theft", basis="summons", room=room, by="li", at=T0)
    ended = svc.start_interview(a.id, officers=OFFICERS, by="li", at=T0 + timedelta(seconds=1))
    svc.end_interview(ended.id, by="li", at=T0 + timedelta(seconds=7))
    b = svc.enter(name="李四", reason="fraud", basis="summons", room=room, by="li")
    going = svc.start_interview(b.id, officers=OFFICERS, by="li")
    return ended.id, going.id


def test_court_copy_from_the_audit_api(
    client: TestClient,
    web_db: Database,
    web_config: Config,
    interviews: tuple[int, int],
    tmp_path: Path,
) -> None:
    ended, going = interviews
    login(client, "auditor")
    url = f"/api/interviews/{ended}/court-copy"
    res = client.post(url, json={})
    assert res.status_code == 428
    assert "reason" in res.json()["message"]
    assert client.post(url, json={"reason": "  "}).status_code == 428
    res = client.post(f"/api/interviews/{going}/court-copy", json={"reason": "review"})
    assert res.status_code == 409
    assert "in progress" in res.json()["message"]
    assert client.post("/api/interviews/999/court-copy", json={"reason": "x"}).status_code == 404

    res = client.post(url, json={"reason": "procuratorate review, case A-17"})
    assert res.status_code == 202, res.text
    job = res.json()
    assert (job["state"], job["derived"], job["download"]) in {
        ("queued", True, None),
        ("rendering", True, None),
    }
    done = wait_for(
        "the court copy",
        lambda: (
            (j := client.get(f"/api/court-copies/{job['id']}").json())["state"]
            in ("done", "failed")
            and j
        ),
        120,
    )
    assert done["state"] == "done", done
    assert done["progress"] == 1.0
    assert done["seconds"] == 6.0
    assert done["complete"] is True
    assert done["originals"] >= 3
    dl = client.get(done["download"])
    assert dl.status_code == 200
    assert dl.headers["content-type"] == "application/zip"
    zpath = tmp_path / "cc.zip"
    zpath.write_bytes(dl.content)
    key = signing.load_or_create_key(signing.keys_dir(web_config)).public_key()
    report = verify_package(zpath, trusted_key=signing.public_pem(key))
    assert report.ok, report.problems
    with zipfile.ZipFile(zpath) as z:
        name = next(n for n in z.namelist() if n.endswith("manifest.json"))
        manifest = json.loads(z.read(name))
    assert manifest["derived"]["kind"] == "court_copy"
    assert manifest["derived"]["file"]["sha256"] == done["sha256"]
    entries = [
        (e.actor, e.action, e.object_type, e.reason, json.loads(e.details)["what"])
        for e in list_entries(web_db, object_type="interview")
    ]
    assert entries == [
        ("auditor", "export", "interview", "procuratorate review, case A-17", "court copy"),
        (
            "auditor",
            "export",
            "interview",
            "procuratorate review, case A-17",
            "court copy download",
        ),
    ]
    # Another role has no court copies, and an unknown job is not found.
    login(client, "investigator")
    assert client.get(f"/api/court-copies/{job['id']}").status_code == 403
    login(client, "auditor")
    assert client.get("/api/court-copies/nope").status_code == 404
