"""The API's documentation pages (/docs: Swagger UI, /redoc) served with their own assets.

FastAPI's pages load Swagger UI and ReDoc from a CDN, which a police network does not reach;
the assets come from the ``fastapi-offline`` package instead, served under /docs-assets.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"


def install(app: FastAPI) -> None:
    """Add /docs, /docs/oauth2-redirect and /redoc to an app made with docs_url=None."""
    folder = Path(str(files("fastapi_offline") / "static"))
    app.mount(ASSETS, StaticFiles(directory=folder), name="docs-assets")
    title = f"{app.title} API"
    openapi = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi,
            title=title,
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False, response_class=HTMLResponse)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False, response_class=HTMLResponse)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi,
            title=title,
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
