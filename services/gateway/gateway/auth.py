"""Bearer-token authentication: access tokens (JWT, EdDSA) verified with identity's public keys, and
the session each names checked live, so that logging out (or a new password, or a disabled account)
stops every token of the session on the next request, on every gateway process."""
from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

import jwt
from cachetools import TTLCache
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import g, request

from gateway.problems import problem

ISSUER = "pe-insight-identity"
AUDIENCE = "pe-insight"


# Tokens live at most this long (identity's ACCESS_TOKEN_MINUTES is at most 15): an ended session
# need not be remembered longer.
MAX_TOKEN_SECONDS = 15 * 60


@dataclass(frozen=True)
class Principal:
    account_id: str
    kind: str
    username: str
    session_id: str


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
                                options={"require": ["exp", "iat", "sub", "kind", "sid"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the access token has expired") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("the access token is not valid") from None
        return Principal(claims["sub"], claims["kind"], claims.get("username", ""), str(claims["sid"]))


class SessionCheck:
    """Is the session a token names still live? Asked of identity (`ask` answers True or False, and
    raises when identity cannot answer: then nothing is let through).

    A live answer is kept for `fresh_seconds` (well under a second), so a burst of requests from one
    page asks once; an ended session is remembered for as long as any token of it could be valid.
    """

    def __init__(self, ask: Callable[[str, str], bool], *, fresh_seconds: float = 0.5,
                 max_sessions: int = 100_000, timer: Callable[[], float] = time.monotonic):
        self._ask = ask
        self._live = TTLCache(max_sessions, fresh_seconds, timer=timer) if fresh_seconds > 0 else None
        self._ended = TTLCache(max_sessions, MAX_TOKEN_SECONDS, timer=timer)
        self._lock = threading.Lock()

    def is_live(self, principal: Principal) -> bool:
        key = (principal.session_id, principal.account_id)
        with self._lock:
            if key in self._ended:
                return False
            if self._live is not None and key in self._live:
                return True
        live = self._ask(*key)
        with self._lock:
            if live and self._live is not None:
                self._live[key] = True
            elif not live:
                self._ended[key] = True
        return live


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
            principal = verifier.verify(token)
        except Unauthenticated as error:
            return unauthenticated(str(error))
        if not g.session_check.is_live(principal):
            return unauthenticated("the session has ended; log in again")
        g.principal = principal
        return view(*args, **kwargs)
    return wrapper
