"""Bearer-token authentication: access tokens (JWT, EdDSA) verified with identity's public keys."""
from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import g, request

from gateway.problems import problem

ISSUER = "pe-insight-identity"
AUDIENCE = "pe-insight"


@dataclass(frozen=True)
class Principal:
    account_id: str
    kind: str
    username: str


class Unauthenticated(Exception):
    """The request carries no valid access token."""


def _public_key(x: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))


class TokenVerifier:
    """Verifies access tokens; keys are fetched from identity and cached, refetched for a new key id."""

    def __init__(self, fetch_keys: Callable[[], dict[str, str]], *, refresh_seconds: float = 300.0,
                 min_refetch_seconds: float = 5.0):
        self._fetch_keys = fetch_keys
        self._refresh_seconds, self._min_refetch = refresh_seconds, min_refetch_seconds
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _key(self, key_id: str) -> Ed25519PublicKey | None:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = age > self._refresh_seconds
            unknown = key_id not in self._keys and age > self._min_refetch
            if stale or unknown:
                self._keys = {kid: _public_key(x) for kid, x in self._fetch_keys().items()}
                self._fetched_at = time.monotonic()
            return self._keys.get(key_id)

    @property
    def refresh_seconds(self) -> float:
        return self._refresh_seconds

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """The keys tokens are verified with now, by key id, from the same cache."""
        with self._lock:
            if time.monotonic() - self._fetched_at > self._refresh_seconds:
                self._keys = {kid: _public_key(x) for kid, x in self._fetch_keys().items()}
                self._fetched_at = time.monotonic()
            return dict(self._keys)

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            key = self._key(str(header.get("kid", "")))
            if key is None:
                raise Unauthenticated("the token is signed with an unknown key")
            claims = jwt.decode(token, key=key, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub", "kind"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the access token has expired") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("the access token is not valid") from None
        return Principal(claims["sub"], claims["kind"], claims.get("username", ""))


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def unauthenticated(detail: str):
    return problem(401, detail, slug="unauthenticated",
                   headers={"WWW-Authenticate": 'Bearer realm="pe-insight"'})


def authenticated(view):
    """The view runs only for a caller with a valid access token, found in g.principal."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        token = bearer_token()
        if token is None:
            return unauthenticated("send an access token: Authorization: Bearer <token>")
        verifier: TokenVerifier = g.token_verifier
        try:
            g.principal = verifier.verify(token)
        except Unauthenticated as error:
            return unauthenticated(str(error))
        return view(*args, **kwargs)
    return wrapper
