"""Access tokens carry the claims the gateway requires; secrets are 256 bits and stored hashed."""
import base64
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from identity.domain import Account, AccountKind, AccountStatus, Language
from identity.tokens import AUDIENCE, ISSUER, AccessTokenIssuer, digest, new_secret


class FakeKeys:
    def __init__(self):
        self.private = Ed25519PrivateKey.generate()

    def signing_key(self):
        return "key-1", self.private


def test_the_access_token_is_eddsa_with_every_required_claim():
    keys = FakeKeys()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    account = Account(account_id="6a1f0c2e-8b7d-4c3e-9f10-2a3b4c5d6e7f", username="J.Jansen",
                      email="j@example.org", display_name="J", kind=AccountKind.EMPLOYER_CONTACT,
                      status=AccountStatus.ACTIVE, language=Language.NL, pe_registration_number=None,
                      created_at=now, updated_at=now)
    session_id = "0b6f7c1d-2e3a-4b5c-8d9e-0f1a2b3c4d5e"
    token, expires_at = AccessTokenIssuer(keys, timedelta(minutes=10)).issue(account, session_id, now)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": "key-1", "typ": "JWT"}
    claims = jwt.decode(token, keys.private.public_key(), algorithms=["EdDSA"], audience="pe-insight",
                        issuer="pe-insight-identity", options={"require": ["exp", "iat", "sub", "kind", "jti", "sid"]})
    assert (ISSUER, AUDIENCE) == ("pe-insight-identity", "pe-insight")
    assert claims["sub"] == account.account_id
    assert claims["kind"] == "employer_contact"
    assert claims["username"] == "J.Jansen"
    assert claims["sid"] == session_id
    assert claims["exp"] - claims["iat"] == 600
    assert expires_at == now + timedelta(minutes=10)
    other, _ = AccessTokenIssuer(keys, timedelta(minutes=10)).issue(account, session_id, now)
    assert jwt.decode(other, options={"verify_signature": False})["jti"] != claims["jti"]


def test_a_token_signed_by_another_key_does_not_verify():
    token, _ = AccessTokenIssuer(FakeKeys(), timedelta(minutes=1)).issue(
        Account("a", "u", "e@x.nl", "d", AccountKind.OPERATOR, AccountStatus.ACTIVE, Language.EN, None,
                datetime.now(timezone.utc), datetime.now(timezone.utc)), "s", datetime.now(timezone.utc))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, Ed25519PrivateKey.generate().public_key(), algorithms=["EdDSA"], audience=AUDIENCE)


def test_secrets_have_256_bits_and_only_their_sha256_is_kept():
    secret = new_secret()
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert new_secret() != secret
    assert len(digest(secret)) == 64 and secret not in digest(secret)
