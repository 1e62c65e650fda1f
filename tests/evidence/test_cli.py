"""The evidence commands end to end, as a user runs them: vms cases / evidence / hold / audit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.evidence.conftest import T0, record_segments
from tests.web.conftest import PASSWORD
from vms.cli_identity import TOKEN_ENV, os_user
from vms.config import Config
from vms.db.session import Database
from vms.evidence import audit
from vms.web.roles import Role
from vms.web.users import create_api_token, create_user


def _vms(
    cfg: Path | None, *args: str, token: str | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``vms ARGS`` as a user runs it; $VMS_USER is set to a name nobody has, to show it is
    ignored; ``token`` is an API token in $VMS_TOKEN."""
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV} | {"VMS_USER": "mallory"}
    if token:
        env[TOKEN_ENV] = token
    config = ["--config", str(cfg)] if cfg else []
    return subprocess.run(
        [sys.executable, "-m", "vms.cli", *args, *config],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=120,
        check=False,
    )


def _users(db: Database, *names: str) -> dict[str, str]:
    """Investigators with these names; an API token of each."""
    tokens = {}
    with db.session() as s:
        for name in names:
            user = create_user(s, name, PASSWORD, Role.INVESTIGATOR)
            tokens[name], _ = create_api_token(s, user, "cli")
    return tokens


def _json(res: subprocess.CompletedProcess[str]) -> Any:
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout)


def test_case_clip_hold_export_verify_and_audit(
    store: Database, db_url: str, config: Config, tmp_path: Path
) -> None:
    root = config.storage.root
    segs, _ = record_segments(store, root, "street-1", count=3)
    cfg = tmp_path / "vms.yaml"
    cfg.write_text(
        f"storage: {{root: {root}}}\n"
        f"database: {{url: '{db_url}'}}\n"
        "cameras:\n"
        "  - {id: street-1, kind: street, site: Main St, source: 'synthetic://a'}\n"
        "  - {id: cell-1, kind: custody, site: Central custody, room: Cell 1, room_type: cell,"
        " source: 'synthetic://b'}\n"
    )

    tokens = _users(store, "alice", "bob", "dave")
    alice = tokens["alice"]
    case = _json(
        _vms(cfg, "cases", "create", "2026-17", "--title", "Assault", "--reason", "report 88",
             "-i", "bob", "--json", token=alice)
    )  # fmt: skip
    assert (case["owner"], case["investigators"]) == ("alice", ["bob"])

    item = _json(
        _vms(cfg, "evidence", "add-clip", "2026-17", "--camera", "street-1",
             "--from", T0.isoformat(), "--to", segs[2].end.isoformat(),
             "--reason", "the fight", "--json", "--login", "alice", stdin=PASSWORD + "\n")
    )  # fmt: skip
    assert [s["sha256"] for s in item["sources"]] == [s.sha256 for s in segs]
    refused = _vms(cfg, "evidence", "delete", str(item["id"]), "--reason", "tidy up", token=alice)
    assert refused.returncode == 1
    assert "under legal hold" in refused.stderr
    assert "Traceback" not in refused.stderr
    # Viewing an item from the command line: a reason, and on the record as who really ran it.
    no_reason = _vms(cfg, "evidence", "view", str(item["id"]), token=tokens["bob"])
    assert no_reason.returncode == 2
    assert "--reason" in no_reason.stderr
    shown = _json(
        _vms(cfg, "evidence", "view", str(item["id"]), "--reason", "check the clip", "--json",
             token=tokens["bob"])
    )  # fmt: skip
    assert shown["sha256"] == item["sha256"]
    assert Path(shown["file"]).is_file()

    package = tmp_path / "package"
    exported = _json(  # signed; `vms evidence verify` is tested in test_export
        _vms(cfg, "evidence", "export", "2026-17", "--out", str(package), "--reason", "court",
             "--json", token=tokens["dave"])
    )  # fmt: skip
    assert exported["files"] == 3
    assert (package / "manifest.sig").is_file()

    log = audit.list_entries(store, case_number="2026-17")
    assert [(e.actor, e.action) for e in log] == [
        ("alice", "create"),
        ("alice", "create"),
        ("alice", "hold"),
        ("alice", "hold"),
        ("bob", "view"),
        ("dave", "export"),
    ]
    assert (log[4].reason, log[4].object_type, log[4].object_id) == (
        "check the clip",
        "item",
        str(item["id"]),
    )
    assert log[5].reason == "court"
    how = [(d["auth"], d["os_user"]) for d in (json.loads(e.details) for e in log)]
    assert how == [
        ("token", os_user()),
        *[("password", os_user())] * 3,
        *[("token", os_user())] * 2,
    ]
    # A wrong password is refused, and on the record; nothing else is done.
    wrong = _vms(cfg, "hold", "add", "--item", str(item["id"]), "--reason", "x",
                 "--login", "bob", stdin="not bob's password\n")  # fmt: skip
    assert wrong.returncode == 1
    assert "wrong user name or password" in wrong.stderr
    (refusal,) = audit.list_entries(store, action="login")
    assert (refusal.actor, refusal.object_type, refusal.object_id) == (
        f"os:{os_user()}",
        "user",
        "bob",
    )
    assert json.loads(refusal.details)["ok"] is False

    # Someone removes the record that alice added the clip.
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    broken = _vms(cfg, "audit", "verify")
    assert broken.returncode == 1
    assert "entry 2 is missing (deleted)" in broken.stdout


def test_mistakes_get_a_clear_message_and_a_non_zero_exit(tmp_path: Path) -> None:
    cfg = tmp_path / "vms.yaml"
    cfg.write_text(
        f"storage: {{root: {tmp_path / 'store'}}}\n"
        "cameras:\n  - {id: street-1, kind: street, site: Main St, source: 'synthetic://a'}\n"
    )
    no_db = _vms(cfg, "audit", "list")  # reads only: never makes a database
    assert no_db.returncode == 1
    assert "no database at" in no_db.stderr
    assert not (tmp_path / "store" / "vms.db").exists()
    assert _vms(cfg, "db", "upgrade").returncode == 0
    missing = _vms(cfg, "evidence", "view", "999", "--reason", "curious")
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: no evidence item 999")
    no_reason = _vms(cfg, "hold", "add", "--camera", "street-1", "--from", "2026-03-01T12:00")
    assert no_reason.returncode == 2
    assert "--reason" in no_reason.stderr
    not_a_package = _vms(None, "evidence", "verify", str(tmp_path))
    assert not_a_package.returncode == 1
    assert "manifest.json is missing" in not_a_package.stdout
    plan = _json(_vms(cfg, "retention", "run", "--dry-run", "--json"))
    assert (plan["dry_run"], plan["deleted"], plan["over_limit"]) == (True, [], False)
