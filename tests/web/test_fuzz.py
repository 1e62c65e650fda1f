"""Schemathesis against the OpenAPI schema, for nobody and for a principal of every role (and a
camera-scoped one), on SQLite and PostgreSQL: no request may get a 5xx.

A bounded run (a few generated requests per operation and role: the suite's time is shared),
new examples each run. The alert stream is left out: it never ends by design.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings

from tests.web.conftest import fake_health, installation, record_file
from vms.web.app import create_app
from vms.web.users import create_api_token, get_user

EXAMPLES = 2  # per operation and principal: a bounded run, new examples each time
SKIP = {("GET", "/api/alerts/stream")}
WHO = ["nobody", "admin", "supervisor", "investigator", "auditor", "officer", "scoped"]


class Fuzzed:
    def __init__(self, client: TestClient, tokens: dict[str, str], schema: Any) -> None:
        self.client = client
        self.tokens = tokens
        self.schema = schema


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    config, db, users = installation(request, tmp_path_factory.mktemp("fuzz"), "fuzz")
    record_file(db, config, "street-1")  # footage, so playback and clips get past "not found"
    tokens: dict[str, str] = {}
    with db.session() as s:
        for who, uid in users.ids.items():
            tokens[who], _ = create_api_token(s, get_user(s, uid), "fuzz")
    app = create_app(config, db, fake_health)
    schema = schemathesis.openapi.from_dict(app.openapi())
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield Fuzzed(client, tokens, schema)
    db.dispose()


def _operations(schema: Any) -> list[Any]:
    found = [r.ok() for r in schema.get_all_operations()]
    return [op for op in found if (op.method.upper(), op.path) not in SKIP]


@pytest.mark.parametrize("who", WHO)
def test_no_generated_request_gets_a_5xx(fuzzed: Fuzzed, who: str) -> None:
    headers = {"Authorization": f"Bearer {fuzzed.tokens[who]}"} if who != "nobody" else {}
    failures: collections.Counter[str] = collections.Counter()
    examples: list[str] = []
    sent = [0]
    operations = _operations(fuzzed.schema)
    assert len(operations) > 50  # the whole API, not an empty schema
    for op in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
        @given(case=op.as_strategy())
        def one(case: Any) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://127.0.0.1", headers=headers)
            kwargs.pop("cookies", None)
            if isinstance(kwargs.get("data"), bytes | str):  # raw bodies go as content
                kwargs["content"] = kwargs.pop("data")
            res = fuzzed.client.request(**kwargs)
            sent[0] += 1
            if res.status_code >= 500:
                key = f"{case.method.upper()} {case.path} -> {res.status_code}"
                failures[key] += 1
                if len(examples) < 10:
                    examples.append(f"{key}: {kwargs.get('url')} {str(case.body)[:200]} "
                                    f"{res.text[:300]}")  # fmt: skip

        one()
    assert sent[0] >= len(operations)
    assert not failures, "\n".join(examples)


def test_the_fuzzed_api_is_the_served_one(fuzzed: Fuzzed) -> None:
    paths = {op.path for op in _operations(fuzzed.schema)}
    assert "/api/recordings/segments/{segment_id}/download" in paths
    assert "/api/cases/{case_id}/exports/{name}" in paths
