"""Sessions and logins: new password or role ends every session and token; no open redirect;
failed logins throttled per user and per address; HSTS; a content security policy on /docs."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.support.clock import FakeClock
from tests.web.conftest import PASSWORD, Users, fake_health, login, make_config
from vms.config import Config, LoginThrottleConfig
from vms.db.migrate import upgrade
from vms.db.session import Database
from vms.evidence.audit import list_entries
from vms.web.app import create_app
from vms.web.security import same_origin_path
from vms.web.throttle import LoginThrottler, keys_of

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, Database]]:
    """For what does not touch the database (headers, the login page): SQLite, once."""
    tmp = tmp_path_factory.mktemp("pages")
    config = make_config(tmp / "store")
    db = Database(f"sqlite:///{tmp / 'vms.db'}")
    upgrade(db.engine)
    yield config, db
    db.dispose()


@pytest.fixture(scope="module")
def plain(pages: tuple[Config, Database]) -> Iterator[TestClient]:
    config, db = pages
    with TestClient(create_app(config, db, fake_health), base_url="http://127.0.0.1") as c:
        yield c


def _bearer(client: TestClient) -> dict[str, str]:
    token = client.post("/api/auth/tokens", json={"name": "script"}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_a_new_password_or_role_ends_every_session_and_token(
    client: TestClient, users: Users, web_db: Database
) -> None:
    password = PASSWORD
    for change, ends in [
        ({"full_name": "Inspector Li"}, False),
        ({"camera_scope": ["street-1"]}, False),
        ({"password": "a new password 2026"}, True),
        ({"role": "auditor"}, True),
    ]:
        client.cookies.clear()
        res = client.post(
            "/api/auth/login", json={"username": "investigator", "password": password}
        )
        assert res.status_code == 200, (change, res.text)
        session = client.cookies["vms_session"]
        client.headers["X-Requested-With"] = "vms"
        bearer = _bearer(client)
        login(client, "admin")
        res = client.patch(f"/api/users/{users.ids['investigator']}", json=change)
        assert res.status_code == 200, res.text
        expected = 401 if ends else 200
        client.cookies.clear()
        assert client.get("/api/auth/me", headers=bearer).status_code == expected, change
        client.cookies.set("vms_session", session)
        assert client.get("/api/auth/me").status_code == expected, change
        password = str(change.get("password", password))
    updates = [e for e in list_entries(web_db, object_type="user") if e.action == "update"]
    assert [(e.actor, e.object_id) for e in updates] == [("admin", "investigator")] * 4
    assert [set(json.loads(e.details)["changes"]) for e in updates] == [
        {"full_name"},
        {"camera_scope"},
        {"password"},
        {"role"},
    ]
    assert not any("a new password" in e.details for e in updates)


HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example",
    "/ /evil.example",
    "javascript:alert(1)",
    "\\\\evil.example",
    "/" + "a" * 2001,
]


def test_login_never_sends_anyone_off_site(plain: TestClient) -> None:
    client = plain
    for target in HOSTILE_NEXT:
        page = client.get("/login", params={"next": target})
        assert page.status_code == 200
        assert 'data-next="/"' in page.text, target
        assert same_origin_path(target) == "/"
    page = client.get("/login", params={"next": "/cases/3?tab=items#top"})
    assert 'data-next="/cases/3?tab=items#top"' in page.text


@pytest.fixture
def throttled(
    web_config: Config, web_db: Database, users: Users
) -> Iterator[tuple[TestClient, FakeClock]]:
    """The app with a small throttle (a wait after 2 failures, a lockout after 4) and a clock."""
    policy = LoginThrottleConfig(delay_after=2, max_delay_s=8, lockout_after=4, lockout_s=60)
    web = web_config.web.model_copy(update={"login_throttle": policy})
    clock = FakeClock(NOW)
    app = create_app(web_config.model_copy(update={"web": web}), web_db, fake_health, clock=clock)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c, clock


def _try(client: TestClient, password: str, username: str = "supervisor") -> int:
    return client.post(
        "/api/auth/login", json={"username": username, "password": password}
    ).status_code


def test_failed_logins_wait_longer_then_lock_out_and_are_audited(
    throttled: tuple[TestClient, FakeClock], web_db: Database
) -> None:
    client, clock = throttled
    assert [_try(client, "wrong password 1"), _try(client, "wrong password 2")] == [401, 401]
    res = client.post("/api/auth/login", json={"username": "supervisor", "password": PASSWORD})
    assert res.status_code == 429  # even the right password waits: nothing is checked
    assert res.headers["Retry-After"] == "1"
    assert "too many failed logins" in res.json()["message"]
    clock.advance(seconds=1)
    assert _try(client, "wrong password 3") == 401
    assert _try(client, "wrong password 4") == 429
    assert (
        client.post(
            "/api/auth/login", json={"username": "supervisor", "password": "x" * 10}
        ).headers["Retry-After"]
        == "2"
    )  # the wait grows: 1, 2, 4 ... s
    clock.advance(seconds=2)
    assert _try(client, "wrong password 5") == 401  # the 4th failure: locked out
    locked = client.post("/api/auth/login", json={"username": "supervisor", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "60"
    clock.advance(seconds=61)
    assert _try(client, PASSWORD) == 200
    lockouts = list_entries(web_db, action="lockout")
    assert {(e.object_type, e.object_id) for e in lockouts} == {
        ("user", "supervisor"),
        ("address", "testclient"),
    }
    assert len(list_entries(web_db, action="login")) == 4  # each refused password


def test_the_address_is_throttled_across_user_names(db: Database, web_config: Config) -> None:
    clock = FakeClock(NOW)
    policy = LoginThrottleConfig(delay_after=2, lockout_after=3, lockout_s=60)
    throttle = LoginThrottler(db, policy, clock)
    for name in ("admin", "auditor", "chief"):  # a different name each time
        throttle.check(name, "10.0.0.9")
        throttle.failed(name, "10.0.0.9", {"via": "web", "address": "10.0.0.9"})
        clock.advance(seconds=5)
    with pytest.raises(Exception, match="for this address"):
        throttle.check("someone-else", "10.0.0.9")
    throttle.check("someone-else", "10.0.0.10")  # another address is not held back
    assert throttle.state(keys_of("", "10.0.0.9")[1]).locked_until is not None


def test_hsts_only_with_secure_cookies(pages: tuple[Config, Database]) -> None:
    config, db = pages
    for secure in (True, False):
        web = config.web.model_copy(update={"secure_cookies": secure})
        app = create_app(config.model_copy(update={"web": web}), db, fake_health)
        with TestClient(app) as c:
            got = c.get("/api/health").headers.get("strict-transport-security")
        assert got == ("max-age=31536000" if secure else None)


def test_the_api_docs_have_a_content_security_policy(plain: TestClient) -> None:
    client = plain
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        res = client.get(path)
        policy = res.headers["content-security-policy"]
        script = re.search(r"script-src ([^;]*)", policy)
        assert script is not None, policy
        assert "'unsafe-inline'" not in script.group(1)
        assert "frame-ancestors 'none'" in policy
        for inline in re.findall(r"<script(?![^>]*src=)[^>]*>(.*?)</script>", res.text, re.S):
            digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in script.group(1), path
    page = client.get("/login").headers["content-security-policy"]
    assert "script-src 'self';" in page
