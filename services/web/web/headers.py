"""The security headers of the gateway, for pages: the pages load only their own style sheets and
images, run no script, post forms only to themselves, and are never framed.

Referrer-Policy is same-origin rather than the gateway's no-referrer: under https the CSRF check
compares a form's Referer with the page's own origin, so the pages must send it to themselves
(and to no one else).
"""
from __future__ import annotations

from flask import Flask

PAGE_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'none'")
HSTS = "max-age=31536000"


def install(app: Flask, *, https: bool) -> None:
    @app.after_request
    def _secure(response):
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["Content-Security-Policy"] = PAGE_POLICY
        headers["X-Frame-Options"] = "DENY"
        if response.mimetype == "text/html":
            headers["Cache-Control"] = "no-store"  # pages show personal data
        if https:
            headers["Strict-Transport-Security"] = HSTS
        return response
