"""``/docs``: Swagger UI served from the node itself, under a strict Content-Security-Policy.

FastAPI's own page loads Swagger UI from a CDN, which many production networks (and
air-gapped ones) cannot reach: the page then stays blank. The ``fastapi-offline`` package
ships the same Swagger UI 5 files; they are served here under ``/docs/assets``, and
FastAPI's ``get_swagger_ui_html`` points at them. Its one inline script (the Swagger UI
call) is allowed by its hash, so the policy needs neither ``unsafe-inline`` nor another
host. ReDoc is not served: one reference page is enough, and ReDoc's styled components
need inline styles.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_URL", "DOCS_URL", "install_docs"]

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
#: The package and its folder that hold ``swagger-ui-bundle.js``, ``swagger-ui.css`` and
#: ``favicon.png``.
ASSETS_PACKAGE = ("fastapi_offline", "static")

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` and its files under ``/docs/assets``.

    The app must be built with ``docs_url=None`` and ``redoc_url=None`` (FastAPI's CDN pages).
    """
    app.mount(ASSETS_URL, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return swagger_ui_page(app, request.scope.get("root_path", "").rstrip("/"))


def swagger_ui_page(app: FastAPI, root: str) -> HTMLResponse:
    """The Swagger UI page for ``app``'s schema, with the headers that lock it down."""
    assets = f"{root}{ASSETS_URL}"
    page = get_swagger_ui_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} API",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon.png",
        swagger_ui_parameters=app.swagger_ui_parameters,
    )
    page.headers.update(security_headers(bytes(page.body).decode()))
    return page


def security_headers(html: str) -> dict[str, str]:
    """Only this origin's scripts, styles and images, plus the page's own inline scripts."""
    hashes = " ".join(_script_hash(script) for script in _INLINE_SCRIPT.findall(html))
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; script-src 'self' {hashes}; style-src 'self'; "
            "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"
