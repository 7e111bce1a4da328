"""The gateway's Flask app factory."""
from __future__ import annotations

import uuid

import grpc
from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import headers, metrics, ratelimits
from gateway.api import Api
from gateway.auth import SessionCheck, TokenVerifier
from gateway.backends import Backends
from gateway.config import Settings
from gateway.problems import from_rpc_error, problem
from gateway.routes import (account, consents, contacts, docs, dossiers, jwks, organisations, passwords, probes,
                            professionals, registrations, reports, sessions)
from pe.identity.v1 import identity_pb2
from svckit.logs import REQUEST_ID, get_logger

log = get_logger(__name__)

API_BLUEPRINTS = (registrations.blueprint, passwords.blueprint, sessions.blueprint, organisations.blueprint,
                  contacts.blueprint, professionals.blueprint, consents.blueprint, dossiers.blueprint,
                  reports.blueprint, account.blueprint, jwks.blueprint)


def identity_keys(backends: Backends):
    def fetch() -> dict[str, str]:
        reply = backends.identity.ListSigningKeys(identity_pb2.ListSigningKeysRequest(),
                                                  timeout=backends.timeout)
        return {key.key_id: key.x for key in reply.keys}
    return fetch


def identity_sessions(backends: Backends):
    def is_live(session_id: str, account_id: str) -> bool:
        try:
            backends.call("identity", "CheckSession", identity_pb2.CheckSessionRequest(
                session_id=session_id, account_id=account_id))
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                return False
            raise  # identity cannot say: nothing is let through (503)
        return True
    return is_live


class UncheckedSessions:
    """Every session taken as live: only with DEVELOPMENT=1 and CHECK_SESSIONS=0, for the benchmark
    that measures what the live check costs. A logged-out token then works until it expires."""

    def is_live(self, _principal) -> bool:
        return True


def create_app(settings: Settings, *, backends: Backends | None = None,
               verifier: TokenVerifier | None = None, session_check: SessionCheck | None = None) -> Flask:
    app = Flask("gateway")
    backends = backends or Backends(settings)
    verifier = verifier or TokenVerifier(identity_keys(backends))
    if session_check is None:
        session_check = (SessionCheck(identity_sessions(backends), fresh_seconds=settings.session_check_seconds)
                         if settings.check_sessions else UncheckedSessions())
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="pe-insight API", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="v1/openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": "Employers follow the PE progress of their staff, as far as each "
                                    "professional has consented."},
            "components": {"securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        },
    )
    app.extensions["pe.backends"] = backends
    app.extensions["pe.token_verifier"] = verifier
    api = Api(app)
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(probes.blueprint)
    app.register_blueprint(docs.blueprint)
    metrics.instrument(app)
    _install_request_context(app, verifier, session_check)
    _install_error_handlers(app)
    headers.install(app, https=settings.public_url.startswith("https:"))
    ratelimits.install(app, settings.rate_limits, storage_url=settings.rate_limit_storage_url,
                       key_prefix=settings.rate_limit_key_prefix)
    if settings.trusted_proxy_hops:
        # request.remote_addr becomes the address the outermost trusted proxy saw; with no trusted
        # proxy a client's own X-Forwarded-For is ignored, as anyone can send one.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_hops, x_proto=0)
    return app


def _install_request_context(app: Flask, verifier: TokenVerifier, session_check) -> None:
    @app.before_request
    def _bind():
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if 0 < len(incoming) <= 128 else str(uuid.uuid4())
        g.token_verifier = verifier
        g.session_check = session_check
        g.request_id_token = REQUEST_ID.set(g.request_id)

    @app.after_request
    def _tag(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.teardown_request
    def _unbind(_error):
        # A streamed response tears down twice (after the view, and when the stream closes).
        token = g.pop("request_id_token", None)
        if token is not None:
            try:
                REQUEST_ID.reset(token)
            except ValueError:  # reset from another context: clear instead
                REQUEST_ID.set(None)


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(grpc.RpcError)
    def _rpc_error(error):
        log.warning("service call failed", code=error.code().name, detail=error.details(), path=request.path)
        return from_rpc_error(error)

    @app.errorhandler(Exception)
    def _unexpected(error):
        log.exception("unexpected error", path=request.path)
        return problem(500, "something went wrong on our side; the request id helps us find it",
                       request_id=g.get("request_id"))
