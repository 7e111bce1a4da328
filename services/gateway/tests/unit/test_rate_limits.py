"""Per client address limits on the anonymous routes that send mail or check a password (memory storage),
and the client address behind trusted proxies."""
import pytest

from gateway import config
from gateway.ratelimits import LIMITS
from pe.identity.v1 import identity_pb2
from pe.organisation.v1 import organisation_pb2
from svckit.config import SettingError

REGISTRATION = {
    "organisation": {"name": "Uitzendbureau De Brug", "chamber_of_commerce_number": "12345678",
                     "visiting_address": {"street": "Kade 1", "postcode": "1234 AB", "city": "Utrecht"},
                     "phone": "030 123 4567", "email": "info@debrug.example"},
    "applicant": {"name": "Anna de Vries", "email": "hr@debrug.example", "phone": "030 123 4568",
                  "username": "debrug-hr"},
}
LOGIN = {"username": "debrug-hr", "password": "a long enough password"}
REQUESTS = {
    "registrations": ("/api/v1/registrations", REGISTRATION),
    "link-requests": ("/api/v1/password-setup-links", {"username_or_email": "debrug-hr"}),
    "logins": ("/api/v1/sessions", LOGIN),
    "password-setups": ("/api/v1/password-setups", {"token": "t" * 43, "password": "a long enough password"}),
    "email-confirmations": ("/api/v1/email-changes/confirmations", {"token": "t" * 43}),
}


@pytest.fixture(autouse=True)
def replies(backends):
    backends.replies.update({
        ("organisation", "RegisterOrganisation"): organisation_pb2.RegisterOrganisationResponse(),
        ("identity", "IssuePasswordSetupLink"): identity_pb2.IssuePasswordSetupLinkResponse(),
        ("identity", "Authenticate"): identity_pb2.AuthenticateResponse(),
        ("identity", "CompletePasswordSetup"): identity_pb2.CompletePasswordSetupResponse(),
        ("identity", "RefreshSession"): identity_pb2.RefreshSessionResponse(),
        ("identity", "ConfirmEmailChange"): identity_pb2.ConfirmEmailChangeResponse(),
    })


def _post(client, name, address="192.0.2.10", **kwargs):
    path, body = REQUESTS[name]
    return client.post(path, json=body, environ_overrides={"REMOTE_ADDR": address}, **kwargs)


def _limited_to_two(make_app):
    return make_app(**{limit.setting: "2 per minute" for limit in LIMITS})


def test_the_table_covers_the_routes_that_send_mail_or_check_a_password():
    assert {(limit.method, limit.rule) for limit in LIMITS} == {
        ("POST", "/api/v1/registrations"), ("POST", "/api/v1/password-setup-links"),
        ("POST", "/api/v1/sessions"), ("POST", "/api/v1/password-setups"),
        ("POST", "/api/v1/email-changes/confirmations")}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_past_its_limit_a_route_answers_429_problem_with_retry_after(make_app, backends, name):
    client = _limited_to_two(make_app).test_client()
    assert [_post(client, name).status_code for _ in range(2)] == [201 if name in ("registrations", "logins")
                                                                    else 202 if name == "link-requests" else 200] * 2
    response = _post(client, name)
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.json["type"] == "urn:pe-insight:problem:rate-limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert len(backends.calls) == 2  # the refused request never reached a service


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_the_setting_sets_the_limit(make_app, name):
    setting = next(limit.setting for limit in LIMITS if limit.name == name)
    client = make_app(**{setting: "1 per hour"}).test_client()
    assert _post(client, name).status_code < 400
    assert _post(client, name).status_code == 429


def test_counts_are_per_client_address(make_app):
    client = _limited_to_two(make_app).test_client()
    for _ in range(3):
        _post(client, "logins", address="192.0.2.10")
    assert _post(client, "logins", address="192.0.2.10").status_code == 429
    assert _post(client, "logins", address="192.0.2.11").status_code == 201


def test_each_route_counts_on_its_own_and_other_routes_are_not_limited(make_app):
    client = _limited_to_two(make_app).test_client()
    for _ in range(3):
        _post(client, "logins")
    assert _post(client, "logins").status_code == 429
    assert _post(client, "link-requests").status_code == 202
    for _ in range(5):
        assert client.post("/api/v1/sessions/refresh", json={"refresh_token": "r" * 43},
                           environ_overrides={"REMOTE_ADDR": "192.0.2.10"}).status_code == 200


def test_bad_requests_count_too(make_app, backends):
    client = _limited_to_two(make_app).test_client()
    path, _ = REQUESTS["logins"]
    for _ in range(2):
        assert client.post(path, json={"username": "x"}).status_code == 400
    assert client.post(path, json=LOGIN).status_code == 429
    assert backends.calls == []


def test_a_malformed_limit_stops_the_gateway_naming_the_setting():
    with pytest.raises(SettingError, match="RATE_LIMIT_LOGINS"):
        config.load({"RATE_LIMIT_LOGINS": "often"})


def test_an_unknown_storage_is_refused_naming_the_setting():
    with pytest.raises(SettingError, match="RATE_LIMIT_STORAGE_URL"):
        config.load({"RATE_LIMIT_STORAGE_URL": "mongodb://127.0.0.1"})


# --- the client address behind proxies ---------------------------------------------------------------

def _login_address(backends) -> str:
    requests = [request for _, method, request in backends.calls if method == "Authenticate"]
    return requests[-1].client_address


def test_without_trusted_proxies_a_forwarded_for_header_changes_nothing(make_app, backends):
    client = make_app(RATE_LIMIT_LOGINS="2 per minute").test_client()
    for forged in ("203.0.113.1", "203.0.113.2"):
        response = _post(client, "logins", headers={"X-Forwarded-For": forged})
        assert response.status_code == 201
        assert _login_address(backends) == "192.0.2.10"
    # A new forged address for every attempt does not escape the limit either.
    assert _post(client, "logins", headers={"X-Forwarded-For": "203.0.113.3"}).status_code == 429


def test_behind_one_trusted_proxy_the_address_it_saw_is_the_clients(make_app, backends):
    client = make_app(TRUSTED_PROXY_HOPS="1", RATE_LIMIT_LOGINS="2 per minute").test_client()
    proxy = "10.0.0.5"
    # The proxy appends the address it saw to whatever the client sent; only that last one counts.
    response = _post(client, "logins", address=proxy, headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.1"})
    assert response.status_code == 201
    assert _login_address(backends) == "203.0.113.1"
    _post(client, "logins", address=proxy, headers={"X-Forwarded-For": "203.0.113.1"})
    assert _post(client, "logins", address=proxy, headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 429
    # Another client behind the same proxy has counts of its own.
    assert _post(client, "logins", address=proxy, headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 201
    assert _login_address(backends) == "203.0.113.2"
