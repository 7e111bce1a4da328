"""/.well-known/jwks.json: the keys the gateway verifies access tokens with, as a JSON Web Key Set."""
import jwt
from jwt import PyJWKSet

from gateway.auth import AUDIENCE, ISSUER


def test_the_key_set_holds_the_verification_keys_as_ed25519_jwks(client, signing_key):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.json == {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": signing_key.x, "kid": signing_key.key_id,
                                       "use": "sig", "alg": "EdDSA"}]}


def test_a_token_verifies_with_the_published_key_set(client, signing_key):
    keys = PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json)
    token = signing_key.token(sub="an-account")
    key = keys[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["sub"] == "an-account"


def test_clients_may_cache_the_key_set_as_long_as_the_gateway_does(client):
    response = client.get("/.well-known/jwks.json")
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_the_key_set_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/.well-known/jwks.json"]["get"]
    assert "security" not in operation
    assert "Cache-Control" in operation["responses"]["200"]["headers"]
