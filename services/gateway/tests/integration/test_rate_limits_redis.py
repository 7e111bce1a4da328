"""Rate limits counted in a real Redis: every gateway worker (here two apps) shares the counts."""
import uuid

import pytest
import redis

from gateway import config
from gateway.app import create_app
from gateway.auth import TokenVerifier
from pe.identity.v1 import identity_pb2

pytestmark = pytest.mark.integration

LOGIN = {"username": "debrug-hr", "password": "a long enough password"}


class IdentityThatLetsEveryoneIn:
    timeout = 1.0

    def __init__(self):
        self.logins = 0

    def call(self, service, method, request, timeout=None):
        assert (service, method) == ("identity", "Authenticate")
        self.logins += 1
        return identity_pb2.AuthenticateResponse()


@pytest.fixture
def key_prefix(redis_url):
    prefix = f"pe-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


def _worker(redis_url, key_prefix, backends, **environ):
    settings = config.load({"RATE_LIMIT_STORAGE_URL": redis_url, "RATE_LIMIT_KEY_PREFIX": key_prefix,
                            "RATE_LIMIT_LOGINS": "3 per minute", **environ})
    return create_app(settings, backends=backends, verifier=TokenVerifier(dict)).test_client()


def test_two_workers_share_one_count_per_address(redis_url, key_prefix):
    backends = IdentityThatLetsEveryoneIn()
    first, second = (_worker(redis_url, key_prefix, backends) for _ in range(2))
    answers = [worker.post("/api/v1/sessions", json=LOGIN).status_code for worker in (first, second, first)]
    assert answers == [201, 201, 201]
    for worker in (second, first):
        refused = worker.post("/api/v1/sessions", json=LOGIN)
        assert refused.status_code == 429
        assert refused.mimetype == "application/problem+json"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert backends.logins == 3
    # Another address still gets in, through either worker.
    assert second.post("/api/v1/sessions", json=LOGIN,
                       environ_overrides={"REMOTE_ADDR": "192.0.2.77"}).status_code == 201


def test_the_counts_are_kept_in_redis_under_the_key_prefix(redis_url, key_prefix):
    worker = _worker(redis_url, key_prefix, IdentityThatLetsEveryoneIn())
    worker.post("/api/v1/sessions", json=LOGIN)
    keys = [key.decode() for key in redis.Redis.from_url(redis_url).scan_iter(f"*{key_prefix}*")]
    assert keys and all("logins" in key for key in keys)


def test_when_redis_is_down_the_worker_keeps_limiting_in_memory(port_factory):
    backends = IdentityThatLetsEveryoneIn()
    nothing_listens = f"redis://127.0.0.1:{port_factory()}/0"
    worker = _worker(nothing_listens, "pe-test-down", backends, RATE_LIMIT_LOGINS="2 per minute")
    answers = [worker.post("/api/v1/sessions", json=LOGIN).status_code for _ in range(3)]
    assert answers == [201, 201, 429]
