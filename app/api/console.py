"""The web console at ``/`` and the API docs at ``/docs`` and ``/redoc``, all from files that
ship in installed packages, so a machine with no internet access gets working pages.

The console is plain HTML, CSS and JavaScript in ``app/api/console/`` (package data), built
by nothing: it calls the same ``/v1`` routes as every client, with the API key a user typed
kept in the tab's ``sessionStorage``. Swagger UI and ReDoc come from the ``fastapi-offline``
wheel's static folder (MIT; Swagger UI is Apache-2.0, ReDoc MIT), in place of FastAPI's
default pages, which load them from a CDN.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

CONSOLE_DIR = Path(__file__).parent / "console"
DOCS_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
CONSOLE_URL = "/console"
DOCS_ASSETS_URL = "/static/docs"
#: The console loads nothing from elsewhere; the browser enforces it.
CONSOLE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

#: The docs pages: their HTML (from FastAPI) has inline scripts and the bundles inline styles,
#: but nothing may come from elsewhere; ReDoc's sidebar would otherwise fetch its maker's logo.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _docs_page(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


def install(api: FastAPI) -> None:
    """Serve the console and the offline docs; ``api`` must be built with ``docs_url=None``
    and ``redoc_url=None`` so FastAPI's CDN pages do not claim the same paths."""
    for folder in (CONSOLE_DIR, DOCS_ASSETS_DIR):
        if not (folder / ("index.html" if folder is CONSOLE_DIR else "swagger-ui.css")).is_file():
            raise RuntimeError(
                f"web assets are missing from {folder}; reinstall chronorag (the console is "
                "package data) and fastapi-offline"
            )
    api.mount(CONSOLE_URL, StaticFiles(directory=CONSOLE_DIR), name="console")
    api.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS_DIR), name="docs-assets")
    openapi_url = api.openapi_url or "/openapi.json"
    oauth2_url = api.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @api.get("/", include_in_schema=False)
    async def console() -> FileResponse:
        return FileResponse(
            CONSOLE_DIR / "index.html",
            headers={"Content-Security-Policy": CONSOLE_CSP, "Cache-Control": "no-cache"},
        )

    @api.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root, assets = _prefixes(request)
        return _docs_page(
            get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=f"{api.title} - API docs",
                swagger_js_url=f"{assets}/swagger-ui-bundle.js",
                swagger_css_url=f"{assets}/swagger-ui.css",
                swagger_favicon_url=f"{assets}/favicon.png",
                oauth2_redirect_url=root + oauth2_url,
                # No validator badge: it would be fetched from validator.swagger.io.
                swagger_ui_parameters={"validatorUrl": None},
            )
        )

    @api.get(oauth2_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @api.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root, assets = _prefixes(request)
        return _docs_page(
            get_redoc_html(
                openapi_url=root + openapi_url,
                title=f"{api.title} - ReDoc",
                redoc_js_url=f"{assets}/redoc.standalone.js",
                redoc_favicon_url=f"{assets}/favicon.png",
                with_google_fonts=False,
            )
        )


def _prefixes(request: Request) -> tuple[str, str]:
    """The app's root path (behind a proxy prefix) and the docs assets' URL under it."""
    root = str(request.scope.get("root_path", ""))
    return root, root + DOCS_ASSETS_URL
