"""The one composition root of the web pages: builds the Flask app from settings. Tests pass a
fake API and an in-memory session store; nothing connects until a request needs it."""
from __future__ import annotations

from datetime import timedelta

from cachelib import SimpleCache
from flask import Flask, redirect, render_template, request, session, url_for
from flask_session import Session
from flask_wtf.csrf import CSRFError, CSRFProtect

from web import assets, auth, headers
from web.config import Settings
from web.gateway import ApiError, GatewayApi
from web.i18n import LANGUAGES, _, language
from web import pages
from web.pages import employer, operator, professional, public
from web.problems import explain, row_message


def create_app(settings: Settings, *, api=None, session_store=None) -> Flask:
    app = Flask("web", template_folder="templates")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="pe_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.https,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        SESSION_KEY_PREFIX="pe-web:",
        MAX_CONTENT_LENGTH=3 * 1024 * 1024,  # the CSV import's 2 MB and the form around it
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the session it belongs to
        WTF_CSRF_SSL_STRICT=settings.https,
    )
    _session_store(app, settings, session_store)
    Session(app)
    CSRFProtect(app)
    app.extensions["pe.api"] = api or GatewayApi(settings.gateway_url, settings.gateway_timeout_seconds,
                                                 forwarded_for=lambda: request.remote_addr or "")
    app.extensions["pe.settings"] = settings
    for blueprint in (assets.blueprint, public.blueprint, professional.blueprint, employer.blueprint,
                      operator.blueprint):
        app.register_blueprint(blueprint)
    app.jinja_env.globals.update(_=_, language=language, account=auth.account, kind=auth.kind,
                                 row_message=row_message)
    app.context_processor(lambda: {"menu": pages.menu() if auth.account() else []})
    app.jinja_env.filters["date"] = _dutch_date
    app.jinja_env.filters["datetime"] = _dutch_datetime
    _install_language_switch(app)
    _install_error_pages(app)
    headers.install(app, https=settings.https)
    return app


def _session_store(app: Flask, settings: Settings, store) -> None:
    if store is not None:
        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=store)
    elif settings.session_store_url.startswith("redis"):
        import redis
        app.config.update(SESSION_TYPE="redis", SESSION_REDIS=redis.Redis.from_url(settings.session_store_url))
    else:
        app.config.update(SESSION_TYPE="cachelib",
                          SESSION_CACHELIB=SimpleCache(threshold=10_000, default_timeout=settings.session_hours * 3600))


def _install_language_switch(app: Flask) -> None:
    @app.post("/language")
    def choose_language():
        chosen = request.form.get("language", "nl")
        session["language"] = chosen if chosen in LANGUAGES else "nl"
        back = request.form.get("next", "/")
        return redirect(back if back.startswith("/") and not back.startswith("//") else "/")


def _install_error_pages(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        if error.status == 401:
            auth.end()
            return redirect(url_for("public.login", next=request.full_path.rstrip("?")))
        status = error.status if error.status in (403, 404, 409, 429, 503, 504) else 502
        return render_template("error.html", message=explain(error).summary), status

    @app.errorhandler(CSRFError)
    def _csrf(_error):
        return render_template("error.html", message=_(
            "Het formulier was verlopen. Ga terug, laad de pagina opnieuw en probeer het nog eens.")), 400

    @app.errorhandler(403)
    def _forbidden(_error):
        return render_template("error.html", message=_("U heeft hiervoor geen rechten.")), 403

    @app.errorhandler(404)
    def _not_found(_error):
        return render_template("error.html", message=_("Deze pagina bestaat niet.")), 404

    @app.errorhandler(500)
    def _failed(_error):
        return render_template("error.html", message=_(
            "Er ging iets mis aan onze kant. Probeer het opnieuw; blijft het misgaan, neem dan contact op.")), 500

    @app.errorhandler(413)
    def _too_large(_error):
        return render_template("error.html", message=_("Het bestand is te groot.")), 413


def _dutch_date(value) -> str:
    """2027-03-31 as 31-03-2027, as people in the Netherlands write it."""
    if not value:
        return ""
    text = str(value)[:10]
    parts = text.split("-")
    return "-".join(reversed(parts)) if len(parts) == 3 else text


def _dutch_datetime(value) -> str:
    if not value:
        return ""
    text = str(value)
    return f"{_dutch_date(text)} {text[11:16]}".strip()
