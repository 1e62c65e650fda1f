"""Who runs a ``vms`` command: the OS user always, a vms user only when authenticated."""

from __future__ import annotations

import io
import json
import os
import pwd

import pytest

from tests.web.conftest import PASSWORD
from vms.cli_identity import TOKEN_ENV, identify, os_user
from vms.clock import SystemClock
from vms.db.session import Database
from vms.errors import AuthenticationError, InvalidError
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.web.roles import Role
from vms.web.users import create_api_token, create_user, disable_user, find_user, start_session


@pytest.fixture
def alice_token(db: Database) -> str:
    with db.session() as s:
        user = create_user(s, "alice", PASSWORD, Role.INVESTIGATOR)
        token, _ = create_api_token(s, user, "cli")
    return token


def test_a_name_in_the_environment_is_not_an_identity(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("VMS_USER", "USER", "LOGNAME"):
        monkeypatch.setenv(name, "someone-made-up")
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    me = identify(db, None)
    assert me.os_user == os_user() == pwd.getpwuid(os.getuid()).pw_name != "someone-made-up"
    assert (me.name, me.user, me.auth) == (f"os:{os_user()}", None, "os")
    with db.session() as s:
        entry = audit.append(s, SystemClock(), me.actor("why"), "view", "case", 1)
    assert entry.actor == f"os:{os_user()}"
    assert json.loads(entry.details) == {
        "via": "cli",
        "os_user": os_user(),
        "host": me.host,
        "auth": "os",
    }


def test_an_api_token_names_its_user(
    db: Database, alice_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, alice_token)
    me = identify(db, None)
    assert (me.name, me.role, me.auth) == ("alice", "investigator", "token")
    assert me.actor("r").context["os_user"] == os_user()
    with pytest.raises(InvalidError, match="either --login or"):
        identify(db, "alice")
    with db.session() as s:
        session_token, _ = start_session(s, find_user(s, "alice"), 1)
        disable_user(s, find_user(s, "alice"))
    with pytest.raises(AuthenticationError):
        identify(db, None)  # the token died with its user
    monkeypatch.setenv(TOKEN_ENV, session_token)
    with pytest.raises(AuthenticationError, match="an API token, not a login session"):
        identify(db, None)


def test_a_password_login_and_a_refused_one_on_the_record(
    db: Database, alice_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    me = identify(db, "alice")
    assert (me.name, me.auth) == ("alice", "password")
    monkeypatch.setattr("sys.stdin", io.StringIO("guess\n"))
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        identify(db, "alice")
    (entry,) = audit.list_entries(db, action="login")
    assert (entry.actor, entry.object_id) == (f"os:{os_user()}", "alice")
    assert json.loads(entry.details)["ok"] is False


def test_an_actor_without_a_name_is_refused() -> None:
    with pytest.raises(InvalidError, match="a user name is needed"):
        Actor(" ", "why")
