"""`vms users add|list|disable` and the user service functions behind them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vms.cli import app
from vms.db.session import Database
from vms.errors import AuthenticationError, InvalidError
from vms.web.roles import Role
from vms.web.security import hash_password, verify_password
from vms.web.users import (
    authenticate,
    create_api_token,
    create_user,
    disable_user,
    resolve_token,
    start_session,
)


def test_passwords_are_argon2id_and_verify() -> None:
    stored = hash_password("a long enough password")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "a long enough password")
    assert not verify_password(stored, "a long enough passwore")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("Bad Name", "0123456789", "auditor", "user name must be"),
        ("ok-name", "short", "auditor", "at least 10 characters, got 5"),
        ("ok-name", "0123456789", "chief", "role must be one of admin, supervisor"),
    ],
)
def test_create_user_refuses_bad_input(
    db: Database, username: str, password: str, role: str, message: str
) -> None:
    with db.session() as s, pytest.raises(InvalidError, match=message):
        create_user(s, username, password, role)


def test_disabling_a_user_ends_sessions_and_tokens(db: Database) -> None:
    with db.session() as s:
        user = create_user(s, "ines", "0123456789ab", Role.INVESTIGATOR, camera_scope=["b", "a"])
        session, _ = start_session(s, user, 1)
        token, _ = create_api_token(s, user, "script")
    with db.session() as s:
        who = resolve_token(s, session)
        assert (who.username, who.role, who.camera_scope) == ("ines", Role.INVESTIGATOR, {"a", "b"})
        assert resolve_token(s, token).via == "token"
        assert authenticate(s, "ines", "0123456789ab").username == "ines"
    with db.session() as s:
        disable_user(s, authenticate(s, "ines", "0123456789ab"))
    with db.session() as s:
        for secret in (session, token):
            with pytest.raises(AuthenticationError):
                resolve_token(s, secret)
        with pytest.raises(AuthenticationError):
            authenticate(s, "ines", "0123456789ab")


def test_users_cli_adds_lists_and_disables(tmp_path: Path) -> None:
    cfg = tmp_path / "vms.yaml"
    cfg.write_text(
        f"storage: {{root: {tmp_path / 'store'}}}\n"
        "cameras:\n  - {id: cam-a, kind: street, site: s, source: synthetic://a}\n"
    )
    runner = CliRunner()
    args = [
        "users",
        "add",
        "sam",
        "--role",
        "supervisor",
        "--camera",
        "cam-a",
        "--config",
        str(cfg),
    ]
    res = runner.invoke(app, [*args, "--password-stdin"], input="a good password\n")
    assert res.exit_code == 0, res.output
    assert "user sam added: supervisor, cam-a" in res.output
    prompted = ["users", "add", "pat", "--role", "auditor", "--config", str(cfg)]
    res = runner.invoke(app, prompted, input="pw1234567890\npw1234567890\n")
    assert res.exit_code == 0, res.output  # the prompt, asked twice
    bad = runner.invoke(app, [*args, "--password-stdin"], input="a good password\n")
    assert bad.exit_code != 0
    assert "already exists" in str(bad.exception)
    res = runner.invoke(app, ["users", "list", "--json", "--config", str(cfg)])
    rows = {r["username"]: r for r in json.loads(res.output)}
    assert rows["sam"]["camera_scope"] == ["cam-a"]
    assert rows["sam"]["active"] is True
    res = runner.invoke(app, ["users", "disable", "sam", "--config", str(cfg)])
    assert res.exit_code == 0
    assert "disabled" in res.output
    res = runner.invoke(app, ["users", "list", "--json", "--config", str(cfg)])
    assert {r["username"]: r["active"] for r in json.loads(res.output)}["sam"] is False
