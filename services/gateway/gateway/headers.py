"""Security headers on every answer of the gateway.

The only page it serves is the API's docs (Swagger UI, from the gateway's own files, with no
inline script or style: see templates/swagger_ui.html); every other answer is data, which may
load nothing at all. No answer may be framed, and none sends a Referer onwards.
"""
from __future__ import annotations

from flask import Flask, request

DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI loads its scripts, styles and images from /api/docs/assets/, the OpenAPI document with
# fetch, and draws a few icons as data: images.
DOCS_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
HSTS = "max-age=31536000"


def install(app: Flask, *, https: bool) -> None:
    """https: the gateway's public URL is https, so browsers are told to use nothing else."""
    @app.after_request
    def _secure(response):
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Content-Security-Policy"] = DOCS_POLICY if request.endpoint == DOCS_ENDPOINT else API_POLICY
        if https:
            headers["Strict-Transport-Security"] = HSTS
        return response
