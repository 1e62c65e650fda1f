"""Every route documents what it answers: a typed JSON body (``response_model``), or a file, a
stream or a page declared as such; OpenAPI then describes every response."""

from __future__ import annotations

import typing
from pathlib import Path

from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from tests.web.conftest import fake_health, make_config
from vms.db.migrate import upgrade
from vms.db.session import Database
from vms.web.app import create_app

#: Answers that are not JSON; each must say its media type in ``responses`` (OpenAPI).
_PAGES = (HTMLResponse, RedirectResponse)


def _untyped(annotation: object) -> bool:
    """Whether a response model is, or directly holds, ``Any`` (``dict[str, Any]``, ...)."""
    if annotation is typing.Any:
        return True
    return any(_untyped(arg) for arg in typing.get_args(annotation))


def _api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """(path, route) of every API route, routers included (FastAPI keeps them nested)."""
    out = []
    for rc in iter_route_contexts(app.routes):
        if isinstance(rc.original_route, APIRoute):
            out.append((f"{sorted(rc.methods or ())} {rc.path}", rc.original_route))
    return out


def _app(tmp_path: Path) -> FastAPI:
    db = Database(f"sqlite:///{tmp_path / 'vms.db'}")
    upgrade(db.engine)
    return create_app(make_config(tmp_path / "store"), db, fake_health)


def test_every_route_has_a_response_model_or_declares_what_it_answers(tmp_path: Path) -> None:
    app = _app(tmp_path)
    routes = _api_routes(app)
    assert len(routes) > 40  # the routers are included
    untyped, undeclared = [], []
    for where, route in routes:
        if isinstance(route.response_class, DefaultPlaceholder):  # JSON
            if route.response_model is None or _untyped(route.response_model):
                untyped.append(where)
        elif not issubclass(route.response_class, _PAGES):
            content = route.responses.get(200, {}).get("content")
            if not content:
                undeclared.append(where)
    assert not untyped, f"JSON routes without a typed response_model: {untyped}"
    assert not undeclared, f"file/stream routes without their media type: {undeclared}"


def test_openapi_describes_every_json_response(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        spec = client.get("/openapi.json").json()
    missing = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
            schemas = [c.get("schema") for c in ok.get("content", {}).values()]
            if "application/json" in ok.get("content", {}) and not all(schemas):
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"operations whose JSON answer has no schema: {missing}"
    # A typed answer names its model, not an anonymous object.
    alerts = spec["paths"]["/api/alerts"]["get"]["responses"]["200"]["content"]
    assert alerts["application/json"]["schema"] == {"$ref": "#/components/schemas/AlertsOut"}
    assert "StatusView" in spec["components"]["schemas"]
