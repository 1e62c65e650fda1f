"""The reader's language on the web: chosen per user, else the browser's, else the site's.

Templates translate with Jinja2's i18n extension (``{{ _("...") }}``, ``{% trans %}``); the
gettext callables read the request's ``Texts`` from a context variable set around each render,
so one template environment serves every language at once. Scripts get their messages, the
vocabulary labels and the site's time zone as JSON in the page (``<script id="i18n">``).
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from vms.config import Config
from vms.i18n import LANGUAGE_NAMES, Texts, check_language, negotiate, script_messages
from vms.labels import translated

_current: ContextVar[Texts] = ContextVar("vms_texts")


def _gettext(message: str) -> str:
    return _current.get().translations.gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get().translations.ngettext(singular, plural, n)


def install(templates: Jinja2Templates) -> Jinja2Templates:
    env = templates.env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True
    )
    return templates


LANGUAGE_COOKIE = "vms_lang"


def texts_of(config: Config, request: Request, language: str | None = None) -> Texts:
    """``language`` (the user's saved choice) if given, else the one picked in this browser's
    language menu (a cookie), else the browser's ``Accept-Language``, else the site's."""
    lang = language
    if lang is None:
        try:
            lang = check_language(request.cookies.get(LANGUAGE_COOKIE, ""))
        except ValueError:
            lang = negotiate(request.headers.get("accept-language"), config.site.language)
    return config.texts(lang)


def script_context(texts: Texts) -> Markup:
    """What the page's scripts read: messages, labels, language, time zone (JSON, inert)."""
    doc = {
        "lang": texts.language,
        "tz": texts.tz.key,
        "zone": texts.zone,
        "messages": script_messages(texts.language),
        "labels": translated(texts),
    }
    # "</" could end the <script> element early; JSON allows it escaped.
    return Markup(json.dumps(doc, ensure_ascii=False).replace("</", "<\\/"))  # noqa: S704


def render(
    templates: Jinja2Templates,
    request: Request,
    template: str,
    context: dict[str, Any],
    texts: Texts,
    status_code: int = 200,
) -> Response:
    """Render ``template`` in the reader's language (the response carries its language)."""
    full = {
        "texts": texts,
        "lang": texts.language,
        "languages": LANGUAGE_NAMES,
        "i18n_json": script_context(texts),
        **context,
    }
    token = _current.set(texts)
    try:
        response: Response = templates.TemplateResponse(
            request, template, full, status_code=status_code
        )
    finally:
        _current.reset(token)
    response.headers["content-language"] = texts.language
    response.headers["vary"] = "Accept-Language, Cookie"
    return response
