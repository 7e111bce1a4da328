"""/api/v1/session: who the access token says the caller is."""
from __future__ import annotations

import marshmallow as ma
from flask import g
from flask.views import MethodView

from gateway.api import Blueprint
from gateway.auth import authenticated

blueprint = Blueprint("session", __name__, url_prefix="/api/v1/session",
                      description="The caller's session, as its access token states it.")


class SessionSchema(ma.Schema):
    account_id = ma.fields.String(required=True, metadata={"format": "uuid"})
    kind = ma.fields.String(required=True, metadata={"enum": ["employer_contact", "professional", "operator"]})
    username = ma.fields.String(required=True)


@blueprint.route("")
class Session(MethodView):
    @blueprint.doc(security=[{"bearerAuth": []}])
    @blueprint.response(200, SessionSchema)
    @blueprint.alt_response(401, description="No valid access token")
    @authenticated
    def get(self):
        """The account the access token belongs to."""
        principal = g.principal
        return {"account_id": principal.account_id, "kind": principal.kind, "username": principal.username}
