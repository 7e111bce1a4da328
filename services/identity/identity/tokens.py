"""Tokens: opaque secrets for links and refresh tokens (stored only as hashes), and access tokens
as JWTs signed with EdDSA, in the form the gateway verifies."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from identity.domain import Account

ISSUER = "pe-insight-identity"
AUDIENCE = "pe-insight"
ALGORITHM = "EdDSA"


def new_secret() -> str:
    """256 random bits, URL-safe: a password-setup link token or a refresh token."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What is stored instead of the secret: a leaked table does not yield usable tokens."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class SigningKeys(Protocol):
    def signing_key(self) -> tuple[str, Ed25519PrivateKey]: ...


class AccessTokenIssuer:
    def __init__(self, keys: SigningKeys, lifetime: timedelta):
        self._keys, self.lifetime = keys, lifetime

    def issue(self, account: Account, session_id: str, now: datetime) -> tuple[str, datetime]:
        """A signed access token for the account's session, and when it expires.

        `sid` names the session, so that the gateway can refuse the token as soon as the session
        ends (logout, new password, disabled account) instead of when it expires."""
        key_id, private_key = self._keys.signing_key()
        expires_at = now + self.lifetime
        claims = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": account.account_id, "kind": account.kind.value,
            "username": account.username, "sid": session_id, "iat": int(now.timestamp()), "exp": int(expires_at.timestamp()),
            "jti": str(uuid.uuid4()),
        }
        token = jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": key_id})
        return token, expires_at.replace(microsecond=0)
