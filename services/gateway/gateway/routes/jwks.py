"""/.well-known/jwks.json: the public keys identity signs access tokens with (RFC 7517, RFC 8037).

The keys are the ones the gateway itself verifies tokens with, from the same cache, so a
client may verify an access token without asking the gateway on every request.
"""
from __future__ import annotations

import base64

import marshmallow as ma
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app
from flask.views import MethodView

from gateway.api import Blueprint

blueprint = Blueprint("jwks", __name__, url_prefix="/.well-known",
                      description="The public keys that access tokens are signed with.")


class JwkSchema(ma.Schema):
    kty = ma.fields.String(metadata={"enum": ["OKP"]})
    crv = ma.fields.String(metadata={"enum": ["Ed25519"]})
    x = ma.fields.String(metadata={"description": "The public key, base64url without padding"})
    kid = ma.fields.String(metadata={"description": "Matches the kid in an access token's header"})
    use = ma.fields.String(metadata={"enum": ["sig"]})
    alg = ma.fields.String(metadata={"enum": ["EdDSA"]})


class JwkSetSchema(ma.Schema):
    keys = ma.fields.List(ma.fields.Nested(JwkSchema))


def _jwk(key_id: str, key) -> dict:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
            "kid": key_id, "use": "sig", "alg": "EdDSA"}


@blueprint.route("/jwks.json")
class Jwks(MethodView):
    @blueprint.doc(operationId="getJwks")
    @blueprint.response(200, JwkSetSchema, headers={"Cache-Control": {
        "description": "As long as the gateway itself keeps the keys", "schema": {"type": "string"}}})
    def get(self):
        """The JSON Web Key Set of the keys access tokens are signed with (Ed25519, EdDSA)."""
        verifier = current_app.extensions["pe.token_verifier"]
        keys = [_jwk(key_id, key) for key_id, key in sorted(verifier.public_keys().items())]
        max_age = int(verifier.refresh_seconds)
        return {"keys": keys}, 200, {"Cache-Control": f"public, max-age={max_age}"}
