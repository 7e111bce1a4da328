"""Who is logged in: the gateway's tokens, kept in the server-side session, never in the browser.

The browser holds only the session cookie (HttpOnly, SameSite=Lax, Secure under https). An
access token lives 10 minutes; on a 401 the refresh token (single use, rotating) buys new ones
once, and if that fails too the person is logged out and asked to log in again.
"""
from __future__ import annotations

import functools
import time

from flask import abort, current_app, g, redirect, request, session, url_for

from web.gateway import ApiError, GatewayApi


def api() -> GatewayApi:
    return current_app.extensions["pe.api"]


def start(tokens: dict, *, new_session: bool = True) -> None:
    """Keep the tokens; on a login under a new session id, so that an id known before it is worth nothing."""
    language = session.get("language")
    session.clear()
    session.update(access_token=tokens["access_token"], refresh_token=tokens["refresh_token"],
                   expires_at=time.time() + int(tokens.get("expires_in") or 0), account=tokens["account"])
    if language:
        session["language"] = language
    session.permanent = True
    if new_session:
        current_app.session_interface.regenerate(session)


def account() -> dict | None:
    return session.get("account")


def kind() -> str:
    return (account() or {}).get("kind", "")


def end() -> None:
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language


def _refresh() -> bool:
    try:
        tokens = api().refresh(session.get("refresh_token", ""))
    except ApiError as error:
        if error.status in (400, 401):
            end()
            return False
        raise
    start(tokens, new_session=False)
    return True


def call(method: str, *args, **kwargs):
    """A call of the gateway as the logged-in person, refreshing the tokens once when they expired."""
    if not session.get("access_token"):
        raise ApiError(401)
    if session.get("expires_at", 0) < time.time() + 5 and not _refresh():
        raise ApiError(401)
    operation = getattr(api(), method)
    try:
        return operation(session["access_token"], *args, **kwargs)
    except ApiError as error:
        if error.status != 401 or not _refresh():
            raise
        return operation(session["access_token"], *args, **kwargs)


def memberships() -> list[dict]:
    """The employer contact's organisations and roles, asked fresh once per request."""
    if "memberships" not in g:
        g.memberships = call("me").get("memberships", []) if kind() == "employer_contact" else []
    return g.memberships


MANAGER_ROLES = ("administrator", "second_contact")


def managed_organisation() -> dict | None:
    """The first organisation the person manages (administrator or second contact), if any."""
    return next((m for m in memberships() if m.get("role") in MANAGER_ROLES), None)


def login_required(*kinds: str):
    """Only for a logged-in person of one of these kinds; others are sent to log in, or refused."""
    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if not account():
                return redirect(url_for("public.login", next=request.full_path.rstrip("?")))
            if kinds and kind() not in kinds:
                abort(403)
            return view(*args, **kwargs)
        return guarded
    return decorate
