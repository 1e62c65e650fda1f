"""One handler turns every VmsError into an HTTP answer with a message; 422s say what was wrong."""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError as SQLAlchemyDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from vms.errors import (
    AnalyticsError,
    AuthenticationError,
    CameraError,
    ConfigError,
    ConflictError,
    DatabaseError,
    FileIntegrityError,
    InsufficientStorageError,
    InvalidError,
    LegalHoldError,
    LiveStreamError,
    NotFoundError,
    PermissionDeniedError,
    ReasonRequiredError,
    SigningError,
    StorageError,
    TooManyAttemptsError,
    VmsError,
)
from vms.web.limits import problems_of

log = logging.getLogger(__name__)

#: The HTTP answer of each kind of error (vms.errors): the most specific class in an error's MRO
#: decides. Every kind is listed (a test walks vms.errors); this is the one place kinds become
#: statuses.
STATUS: dict[type[VmsError], int] = {
    InvalidError: 400,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    LegalHoldError: 409,
    ReasonRequiredError: 428,
    TooManyAttemptsError: 429,
    ConfigError: 400,
    LiveStreamError: 503,
    CameraError: 502,
    StorageError: 503,
    InsufficientStorageError: 507,
    DatabaseError: 503,
    # The evidence on disk no longer matches its recorded hash: the request conflicts with
    # the state of the footage (and is logged); not the caller's mistake, never a 500.
    FileIntegrityError: 409,
    SigningError: 503,  # the signing key cannot be read now
    AnalyticsError: 503,  # the detector or a video cannot be used now
}


def status_of(exc: VmsError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


#: Machine endpoints outside /api/ that answer errors as JSON, never with a login redirect.
_MACHINE_PATHS = frozenset({"/metrics"})


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return not path.startswith("/api/") and path not in _MACHINE_PATHS and request.method == "GET"


async def vms_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VmsError)
    status = status_of(exc)
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    if _wants_page(request):
        if status == 401:
            query = f"?{request.url.query}" if request.url.query else ""
            target = quote(request.url.path + query)
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return error_page(request, status, str(exc))
    body: dict[str, Any] = {"message": str(exc), "error": type(exc).__name__}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, TooManyAttemptsError):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
        body["retry_after_s"] = math.ceil(exc.retry_after_s)
    return JSONResponse(body, status_code=status, headers=headers)


def error_page(request: Request, status: int, message: str) -> Response:
    """The HTML error page, in the reader's language, with their menu when logged in."""
    from vms.web.deps import get_principal
    from vms.web.i18n import render, texts_of
    from vms.web.routes.pages import nav_of

    state = request.app.state.web
    user = None
    if status != 401:
        try:
            user = get_principal(request, state)
        except VmsError:
            user = None
    texts = texts_of(state.config, request, user.language if user else None)
    context = {
        "status": status,
        "message": message,
        "user": user,
        "nav": nav_of(user, texts),
        "path": "",
    }
    templates: Jinja2Templates = state.templates
    return render(templates, request, "error.html", context, texts, status_code=status)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where = parts[0]
        rest = ".".join(parts[1:])
        return f"{where} {rest}" if rest else where
    return ".".join(parts)


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's 422 reshaped: one line per problem, naming the field, expected and got."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        got = ""
        if err.get("type") not in ("missing", "extra_forbidden") and "input" in err:
            value = err["input"]
            if not isinstance(value, dict | list):
                got = f", got {value!r}"[:200]
        problems.append(f"{_where(tuple(err.get('loc', ())))}: {msg}{got}")
    message = f"the request is not valid: {'; '.join(problems)}"
    return JSONResponse(
        {"message": message, "error": "RequestValidationError", "problems": problems},
        status_code=422,
    )


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown path, wrong method) with the same JSON shape."""
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        {"message": str(exc.detail), "error": "HTTPException"},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def overflow_handler(request: Request, exc: Exception) -> Response:
    """The safety net behind vms.web.limits: a number or a time too big for the database or
    the calendar that still got through is the request's fault if a parameter is out of
    range (422 naming it); otherwise it is a bug (500, logged)."""
    problems = problems_of(request)
    if not problems:
        log.error("%s %s: %s", request.method, request.url.path, exc, exc_info=exc)
        return JSONResponse(
            {"message": "internal error", "error": type(exc).__name__}, status_code=500
        )
    named = [f"{where} {name}: {problem}, got {raw!r}" for where, name, problem, raw in problems]
    return JSONResponse(
        {
            "message": f"the request is not valid: {'; '.join(named)}",
            "error": "RequestValidationError",
            "problems": named,
        },
        status_code=422,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(VmsError, vms_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(OverflowError, overflow_handler)
    app.add_exception_handler(SQLAlchemyDataError, overflow_handler)
