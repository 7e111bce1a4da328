"""/api/v1/sessions: log in, refresh, log out; /api/v1/me: who the caller is."""
from __future__ import annotations

import time

import marshmallow as ma
from flask import current_app, g, request
from flask.views import MethodView
from marshmallow import validate

from gateway import convert
from gateway.api import Blueprint
from gateway.auth import authenticated
from gateway.permissions import memberships
from gateway.schemas import NO_NUL, AccountSchema
from pe.identity.v1 import identity_pb2
from pe.organisation.v1 import organisation_pb2

blueprint = Blueprint("sessions", __name__, url_prefix="/api/v1",
                      description="Log in with username and password; refresh and end the session.")

BEARER = [{"bearerAuth": []}]


class LoginSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=[validate.Length(min=1, max=64), NO_NUL])
    password = ma.fields.String(required=True, validate=[validate.Length(min=1, max=1024), NO_NUL])


class RefreshSchema(ma.Schema):
    refresh_token = ma.fields.String(required=True, validate=[validate.Length(min=1, max=500), NO_NUL])


class TokensSchema(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(metadata={"description": "Seconds the access token stays valid"})
    refresh_token = ma.fields.String()
    refresh_token_expire_time = ma.fields.String()
    account = ma.fields.Nested(AccountSchema)


class MembershipSchema(ma.Schema):
    organisation_id = ma.fields.String()
    contact_id = ma.fields.String()
    role = ma.fields.String()
    organisation_status = ma.fields.String()


class MeSchema(ma.Schema):
    account = ma.fields.Nested(AccountSchema)
    memberships = ma.fields.List(ma.fields.Nested(MembershipSchema))


class SessionSchema(ma.Schema):
    account_id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"enum": ["employer_contact", "professional", "operator"]})
    username = ma.fields.String(required=True)


def _tokens(session: identity_pb2.Session) -> dict:
    expires = session.access_token_expire_time.seconds - time.time()
    return {"access_token": session.access_token, "token_type": "Bearer", "expires_in": max(0, int(expires)),
            "refresh_token": session.refresh_token,
            "refresh_token_expire_time": convert.timestamp(session.refresh_token_expire_time),
            "account": convert.account(session.account)}


def _identity(method: str, message):
    return current_app.extensions["pe.backends"].call("identity", method, message)


@blueprint.route("/sessions")
class Sessions(MethodView):
    @blueprint.doc(operationId="createSession")
    @blueprint.arguments(LoginSchema)
    @blueprint.response(201, TokensSchema)
    @blueprint.alt_response(401, description="Username or password is incorrect")
    @blueprint.alt_response(429, description="Too many failed attempts; see Retry-After")
    def post(self, form):
        """Log in: a short-lived access token and a rotating refresh token."""
        reply = _identity("Authenticate", identity_pb2.AuthenticateRequest(
            username=form["username"], password=form["password"], client_address=request.remote_addr or ""))
        return _tokens(reply.session)


@blueprint.route("/sessions/refresh")
class SessionRefresh(MethodView):
    @blueprint.doc(operationId="refreshSession")
    @blueprint.arguments(RefreshSchema)
    @blueprint.response(200, TokensSchema)
    @blueprint.alt_response(401, description="The refresh token is unknown, expired or was already used")
    def post(self, form):
        """Trade a refresh token for new tokens. Each refresh token works once."""
        reply = _identity("RefreshSession", identity_pb2.RefreshSessionRequest(refresh_token=form["refresh_token"]))
        return _tokens(reply.session)


@blueprint.route("/sessions/revoke")
class SessionRevoke(MethodView):
    @blueprint.doc(operationId="revokeSession")
    @blueprint.arguments(RefreshSchema)
    @blueprint.response(204)
    def post(self, form):
        """Log out with the refresh token: every token of its session stops working."""
        _identity("RevokeSession", identity_pb2.RevokeSessionRequest(refresh_token=form["refresh_token"]))


@blueprint.route("/session")
class Session(MethodView):
    @authenticated
    @blueprint.doc(operationId="getSession", security=BEARER)
    @blueprint.response(200, SessionSchema)
    @blueprint.alt_response(401, description="No valid access token")
    def get(self):
        """The account the access token belongs to, as the token states it."""
        caller = g.principal
        return {"account_id": caller.account_id, "kind": caller.kind, "username": caller.username}

    @authenticated
    @blueprint.doc(operationId="deleteSession", security=BEARER)
    @blueprint.response(204)
    @blueprint.alt_response(401, description="No valid access token")
    def delete(self):
        """Log out with the access token: every token of its session stops working, here and on
        every other gateway, from the next request on."""
        caller = g.principal
        _identity("RevokeSession", identity_pb2.RevokeSessionRequest(
            session_id=caller.session_id, account_id=caller.account_id))

@blueprint.route("/me")
class Me(MethodView):
    @authenticated
    @blueprint.doc(operationId="getMe", security=BEARER)
    @blueprint.response(200, MeSchema)
    @blueprint.alt_response(401, description="No valid access token")
    def get(self):
        """The caller's account and, for employer contacts, their organisations and roles."""
        reply = _identity("GetAccount", identity_pb2.GetAccountRequest(account_id=g.principal.account_id))
        status, role = organisation_pb2.OrganisationStatus, organisation_pb2.ContactRole
        return {"account": convert.account(reply.account), "memberships": [
            {"organisation_id": m.organisation_id, "contact_id": m.contact_id,
             "role": convert.enum_word(role, m.role),
             "organisation_status": convert.enum_word(status, m.organisation_status)} for m in memberships()]}
