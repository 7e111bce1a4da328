"""The holder's own account: a new password, a new login e-mail (confirmed by the new address).

Only the holder changes these, logged in and re-entering the current password: whoever could change
the e-mail of another's account could have that account's password links sent to themselves.
"""
from __future__ import annotations

import grpc
import marshmallow as ma
from flask import abort, current_app, g, request
from flask.views import MethodView
from marshmallow import validate

from gateway.api import Blueprint
from gateway.auth import authenticated
from gateway.problems import problem
from gateway.routes.passwords import AcceptedSchema
from gateway.schemas import NEW_PASSWORD, NO_NUL, Email
from pe.identity.v1 import identity_pb2
from svckit.rpc_errors import field_violations

blueprint = Blueprint("account", __name__, url_prefix="/api/v1",
                      description="The caller's own password and login e-mail.")
BEARER = [{"bearerAuth": []}]
PASSWORD = [validate.Length(min=1, max=1024), NO_NUL]


class PasswordChangeSchema(ma.Schema):
    current_password = ma.fields.String(required=True, validate=PASSWORD)
    new_password = ma.fields.String(required=True, validate=NEW_PASSWORD,
                                    metadata={"description": "12 to 128 characters, not a common password"})


class EmailChangeSchema(ma.Schema):
    current_password = ma.fields.String(required=True, validate=PASSWORD)
    new_email = Email(required=True)


class EmailConfirmationSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=[validate.Length(min=1, max=200), NO_NUL])


class ConfirmedEmailSchema(ma.Schema):
    account_id = ma.fields.String()
    username = ma.fields.String()
    email = ma.fields.String()


def _identity(method: str, message):
    return current_app.extensions["pe.backends"].call("identity", method, message)


def _as_holder(method: str, message):
    """A call that re-checks the holder's password. The gateway has already checked the form, so
    identity naming current_password means a wrong password: a well-formed request the caller may
    not make (403, naming the field), not a malformed one."""
    try:
        return _identity(method, message)
    except grpc.RpcError as error:
        faults = field_violations(error) if error.code() == grpc.StatusCode.INVALID_ARGUMENT else {}
        if "current_password" not in faults:
            raise
        abort(problem(403, "the current password is wrong", slug="wrong-password",
                      errors=[{"field": "current_password", "message": faults["current_password"]}]))


@blueprint.route("/me/password")
class Password(MethodView):
    @authenticated
    @blueprint.doc(operationId="changePassword", security=BEARER)
    @blueprint.arguments(PasswordChangeSchema)
    @blueprint.response(204)
    @blueprint.alt_response(400, description="The new password is too weak (named in errors)")
    @blueprint.alt_response(403, description="The current password is wrong")
    @blueprint.alt_response(429, description="Too many wrong passwords; see Retry-After")
    def post(self, form):
        """Set a new password. Every session of the account ends, this one included: log in again."""
        _as_holder("ChangePassword", identity_pb2.ChangePasswordRequest(
            account_id=g.principal.account_id, current_password=form["current_password"],
            new_password=form["new_password"], client_address=request.remote_addr or ""))


@blueprint.route("/me/email-changes")
class EmailChanges(MethodView):
    @authenticated
    @blueprint.doc(operationId="requestEmailChange", security=BEARER)
    @blueprint.arguments(EmailChangeSchema)
    @blueprint.response(202, AcceptedSchema)
    @blueprint.alt_response(403, description="The current password is wrong")
    @blueprint.alt_response(429, description="Too many wrong passwords; see Retry-After")
    def post(self, form):
        """Ask for a new login e-mail. It takes effect once the new address confirms the mailed link;
        the present address is told, and password links already sent to it stop working."""
        _as_holder("RequestEmailChange", identity_pb2.RequestEmailChangeRequest(
            account_id=g.principal.account_id, current_password=form["current_password"],
            new_email=form["new_email"], client_address=request.remote_addr or ""))
        return {"detail": "A mail with a confirmation link is on its way to the new address."}


@blueprint.route("/email-changes/confirmations")
class EmailConfirmations(MethodView):
    @blueprint.doc(operationId="confirmEmailChange")
    @blueprint.arguments(EmailConfirmationSchema)
    @blueprint.response(200, ConfirmedEmailSchema)
    @blueprint.alt_response(409, description="The link is unknown, used, voided or expired")
    def post(self, form):
        """Confirm a new login e-mail with the token from the mail sent to it (single use)."""
        account = _identity("ConfirmEmailChange",
                            identity_pb2.ConfirmEmailChangeRequest(token=form["token"])).account
        return {"account_id": account.account_id, "username": account.username, "email": account.email}
