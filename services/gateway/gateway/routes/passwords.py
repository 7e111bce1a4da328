"""Password-setup links and setting the password (public)."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from marshmallow import validate

from gateway.api import Blueprint
from gateway.schemas import NEW_PASSWORD, NO_NUL
from pe.identity.v1 import identity_pb2

blueprint = Blueprint("passwords", __name__, url_prefix="/api/v1",
                      description="Setting a password through a mailed link, and asking for a new link.")


class LinkRequestSchema(ma.Schema):
    username_or_email = ma.fields.String(required=True, validate=[validate.Length(min=1, max=254), NO_NUL])


class AcceptedSchema(ma.Schema):
    detail = ma.fields.String()


class PasswordSetupSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=[validate.Length(min=1, max=200), NO_NUL])
    password = ma.fields.String(required=True, validate=NEW_PASSWORD,
                                metadata={"description": "12 to 128 characters, not a common password"})


class PasswordSetResultSchema(ma.Schema):
    account_id = ma.fields.String()
    username = ma.fields.String()


@blueprint.route("/password-setup-links")
class PasswordSetupLinks(MethodView):
    @blueprint.doc(operationId="requestPasswordSetupLink")
    @blueprint.arguments(LinkRequestSchema)
    @blueprint.response(202, AcceptedSchema)
    def post(self, form):
        """Ask for a new password-setup link ('forgot password').

        The answer is the same whether or not an account matches, so it reveals no accounts.
        """
        current_app.extensions["pe.backends"].call(
            "identity", "IssuePasswordSetupLink", identity_pb2.IssuePasswordSetupLinkRequest(
                username_or_email=form["username_or_email"], purpose=identity_pb2.LINK_PURPOSE_PASSWORD_RESET))
        return {"detail": "If an account matches, a mail with a link to set the password is on its way."}


@blueprint.route("/password-setups")
class PasswordSetups(MethodView):
    @blueprint.doc(operationId="completePasswordSetup")
    @blueprint.arguments(PasswordSetupSchema)
    @blueprint.response(200, PasswordSetResultSchema)
    @blueprint.alt_response(409, description="The link is unknown, used, voided or expired")
    def post(self, form):
        """Set the password with the token from a password-setup link (single use)."""
        reply = current_app.extensions["pe.backends"].call(
            "identity", "CompletePasswordSetup",
            identity_pb2.CompletePasswordSetupRequest(token=form["token"], password=form["password"]))
        return {"account_id": reply.account.account_id, "username": reply.account.username}
