"""Per client address limits on registrations, link requests and logins, counted in Redis by both
gateway workers, behind one trusted proxy whose X-Forwarded-For names each client."""
import itertools
import time
import uuid

import pytest
import redis

from support.api import Api, registration_form, unique
from support.databases import rows

pytestmark = pytest.mark.system

KEY_PREFIX = f"pe-system-{uuid.uuid4().hex[:10]}"
_addresses = (f"203.0.113.{n}" for n in itertools.count(10))


@pytest.fixture(scope="module")
def stack_settings(redis_url):
    yield {"gateway": {"RATE_LIMIT_STORAGE_URL": redis_url, "RATE_LIMIT_KEY_PREFIX": KEY_PREFIX,
                       "TRUSTED_PROXY_HOPS": "1", "RATE_LIMIT_LOGINS": "3 per minute",
                       "RATE_LIMIT_REGISTRATIONS": "2 per minute", "RATE_LIMIT_LINK_REQUESTS": "2 per minute"}}
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{KEY_PREFIX}*"):
        client.delete(key)
    client.close()


def _as(address: str) -> dict:
    """What the trusted proxy in front of the gateway sends for a client at this address."""
    return {"X-Forwarded-For": address}


def _log_in(stack, address: str, username: str | None = None):
    return Api(stack.gateway_url).post("/sessions", headers=_as(address), json={
        "username": username or unique("nobody"), "password": "not the password at all"})


def _assert_limited(response):
    assert response.status_code == 429, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "urn:pe-insight:problem:rate-limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_logins_past_the_limit_are_refused_by_both_gateway_workers(stack):
    address = next(_addresses)
    assert [_log_in(stack, address).status_code for _ in range(3)] == [401, 401, 401]
    # Each request is a new connection, handed to either of the two workers: they share one count.
    for _ in range(8):
        _assert_limited(_log_in(stack, address))


def test_registrations_past_the_limit_are_refused_and_send_no_mail(stack, mailbox):
    address = next(_addresses)
    emails = [f"{unique('flood')}@werkgever.example" for _ in range(3)]
    api = Api(stack.gateway_url)
    answers = [api.post("/registrations", headers=_as(address),
                        json=registration_form("Overvloed BV", email.split("@")[0], email)) for email in emails]
    assert [answer.status_code for answer in answers[:2]] == [201, 201]
    _assert_limited(answers[2])
    for email in emails[:2]:
        mailbox.wait_for(email, containing="token=")
    time.sleep(2)  # the mail relay polls every second: a third mail would be here by now
    assert mailbox.to(emails[2]) == []


def test_link_requests_past_the_limit_are_refused(stack):
    address = next(_addresses)
    api = Api(stack.gateway_url)
    answers = [api.post("/password-setup-links", headers=_as(address),
                        json={"username_or_email": unique("someone")}) for _ in range(3)]
    assert [answer.status_code for answer in answers[:2]] == [202, 202]
    _assert_limited(answers[2])


def test_clients_behind_the_proxy_are_counted_apart(stack):
    limited, other = next(_addresses), next(_addresses)
    for _ in range(3):
        _log_in(stack, limited)
    _assert_limited(_log_in(stack, limited))
    assert _log_in(stack, other).status_code == 401


def test_identity_records_the_address_the_trusted_proxy_saw(stack):
    username, address = unique("nobody"), next(_addresses)
    # A client may send an X-Forwarded-For of its own; the proxy appends the address it saw.
    response = Api(stack.gateway_url).post("/sessions", headers={"X-Forwarded-For": f"198.51.100.1, {address}"},
                                           json={"username": username, "password": "not the password at all"})
    assert response.status_code == 401
    recorded = rows(stack.database_urls["identity"],
                    "SELECT client_address FROM login_failures WHERE username_lower = :name", name=username)
    assert recorded == [(address,)]
