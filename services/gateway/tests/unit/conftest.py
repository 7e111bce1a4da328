import base64
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway import config
from gateway.app import create_app
from gateway.auth import AUDIENCE, ISSUER, TokenVerifier
from pe.identity.v1 import identity_pb2


class FakeBackends:
    """Stands in for the gRPC channels: the health each service reports, and recorded calls."""
    timeout = 1.0

    def __init__(self):
        self.statuses = {name: "SERVING" for name in ("identity", "organisation", "consent", "reporting")}
        self.calls = []
        self.session_checks = []
        # Every session is live unless a test says otherwise.
        self.replies = {("identity", "CheckSession"): identity_pb2.CheckSessionResponse()}

    def call(self, service, method, request, timeout=None):
        # The session check comes before every authenticated route's own work: kept apart, so that
        # `calls` says what a route did.
        (self.session_checks if (service, method) == ("identity", "CheckSession") else self.calls).append(
            (service, method, request))
        reply = self.replies.get((service, method))
        if reply is None:
            raise AssertionError(f"unexpected call {service}.{method}")
        return reply(request) if callable(reply) else reply

    def health(self, timeout=None):
        return dict(self.statuses)


class SigningKey:
    def __init__(self):
        self.private = Ed25519PrivateKey.generate()
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        self.key_id = "test-key"

    def token(self, **overrides):
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(uuid.uuid4()), "kind": "professional",
                  "username": "pro1", "sid": str(uuid.uuid4()), "iat": now, "exp": now + 600, **overrides}
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.key_id})


@pytest.fixture
def signing_key():
    return SigningKey()


@pytest.fixture
def other_signing_key():
    return SigningKey()


@pytest.fixture
def backends():
    return FakeBackends()


@pytest.fixture
def make_app(backends, signing_key):
    """The app with fake backends and these settings (environment variable names and values)."""
    def make(**environ):
        settings = config.load({"MAX_BODY_BYTES": "2048", **environ})
        verifier = TokenVerifier(lambda: {signing_key.key_id: signing_key.x})
        return create_app(settings, backends=backends, verifier=verifier)
    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()
