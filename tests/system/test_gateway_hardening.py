"""What the gateway shows of itself to anyone who asks, through a running stack: security headers,
/metrics only on its own port, no service addresses in errors, bad input as 400s naming the field, the
token keys as a JWK set, and no link token left in any database once its mail is sent."""
import re
import time

import jwt
import pytest
import requests

from support.api import Api, add_contact, create_operator, create_professional, register, registration_form, unique
from support.databases import columns_holding, rows
from support.stack import SERVICES

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def world(stack, mailbox):
    operator = create_operator(stack, mailbox)
    organisation_id, admin = register(stack, mailbox, "Veilig Uitzenden")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    contact = add_contact(stack, mailbox, admin, organisation_id, "contact")
    professional = create_professional(stack, mailbox, operator)
    return {"organisation_id": organisation_id, "admin": admin, "contact": contact, "professional": professional}


def _policy(response) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in response.headers["Content-Security-Policy"].split(";")
            if part.strip()}


# --- headers ------------------------------------------------------------------------------------------

def test_answers_carry_the_security_headers(stack, world):
    for response in (requests.get(f"{stack.gateway_url}/healthz", timeout=5),
                     Api(stack.gateway_url).get("/session"),
                     world["professional"].api.get("/me")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        policy = _policy(response)
        assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert "Strict-Transport-Security" not in response.headers  # PUBLIC_URL is http here


def test_the_docs_page_works_under_its_policy(stack):
    page = requests.get(f"{stack.gateway_url}/api/docs", timeout=5)
    assert page.status_code == 200
    policy = _policy(page)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), "no inline script"
    assert "<style" not in page.text and "style=" not in page.text
    for reference in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert reference.startswith("/"), reference
        assert requests.get(f"{stack.gateway_url}{reference}", timeout=5).status_code == 200
    spec = re.search(r'data-spec-url="([^"]+)"', page.text).group(1)
    assert requests.get(f"{stack.gateway_url}{spec}", timeout=5).json()["info"]["title"] == "pe-insight API"


def test_with_an_https_public_url_answers_carry_hsts(stack):
    try:
        stack.restart("gateway", PUBLIC_URL="https://pe-insight.example")
        response = requests.get(f"{stack.gateway_url}/healthz", timeout=5)
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        stack.restart("gateway", PUBLIC_URL=stack.gateway_url)


# --- metrics -------------------------------------------------------------------------------------------

def test_metrics_are_served_on_their_own_port_only(stack):
    requests.get(f"{stack.gateway_url}/healthz", timeout=5)
    public = requests.get(f"{stack.gateway_url}/metrics", timeout=5)
    assert public.status_code == 404 and public.headers["Content-Type"] == "application/problem+json"
    metrics = requests.get(stack.metrics_url("gateway"), timeout=5)
    assert metrics.status_code == 200
    assert 'pe_gateway_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics.text


# --- errors --------------------------------------------------------------------------------------------

def test_a_stopped_service_is_reported_in_the_gateways_own_words(stack, world):
    admin, organisation_id = world["admin"], world["organisation_id"]
    stack.stop_process("reporting")
    try:
        response = admin.api.get(f"/organisations/{organisation_id}/reports/overview", params={"format": "json"})
        assert response.status_code in (503, 504), response.text
        assert response.headers["Content-Type"] == "application/problem+json"
        for leak in ("127.0.0.1", str(stack.ports["reporting_grpc"]), "ipv4", "connect", "last error"):
            assert leak not in response.text, response.text
    finally:
        stack.start_process("reporting", ["-m", "reporting"], stack.service_env("reporting"))
        stack.wait_ready(60)


# --- bad input -----------------------------------------------------------------------------------------

def _fields(response) -> set[str]:
    assert response.headers["Content-Type"] == "application/problem+json", response.text
    return {error["field"] for error in response.json()["errors"]}


def test_json_nested_5000_deep_on_login_is_a_400(stack):
    response = requests.post(f"{stack.gateway_url}/api/v1/sessions", data="[" * 5000 + "]" * 5000,
                             headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400 and _fields(response) == {"body"}


def test_a_lone_surrogate_as_password_is_a_400_naming_the_password(stack, world):
    body = '{"username": "%s", "password": "\\ud800"}' % world["professional"].username
    response = requests.post(f"{stack.gateway_url}/api/v1/sessions", data=body,
                             headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400 and _fields(response) == {"password"}


def test_end_date_9999_12_31_on_grant_and_on_change_is_a_400_naming_the_end_date(world):
    professional, contact = world["professional"], world["contact"]
    grant = {"organisation_id": world["organisation_id"], "contact_ids": [contact.contact_id]}
    refused = professional.api.post("/consents", json={**grant, "end_date": "9999-12-31"})
    assert refused.status_code == 400 and _fields(refused) == {"end_date"}
    granted = professional.api.post("/consents", json={**grant, "end_date": "9999-12-30"})
    assert granted.status_code == 201, granted.text
    consent_id = granted.json()["consents"][0]["consent_id"]
    refused = professional.api.patch(f"/consents/{consent_id}", json={"end_date": "9999-12-31"})
    assert refused.status_code == 400 and _fields(refused) == {"end_date"}
    assert contact.api.get(f"/dossiers/{professional.account_id}").status_code == 200  # the consent holds


# --- token keys ----------------------------------------------------------------------------------------

def test_a_token_identity_issued_verifies_with_the_published_key_set(stack, world):
    token = world["professional"].api.token
    keys = jwt.PyJWKClient(f"{stack.gateway_url}/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key, algorithms=["EdDSA"], audience="pe-insight", issuer="pe-insight-identity")
    assert claims["sub"] == world["professional"].account_id
    response = requests.get(f"{stack.gateway_url}/.well-known/jwks.json", timeout=5)
    assert re.fullmatch(r"public, max-age=\d+", response.headers["Cache-Control"])
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and k["alg"] == "EdDSA" for k in response.json()["keys"])


# --- secrets at rest -----------------------------------------------------------------------------------

def test_no_database_keeps_the_link_token_once_its_mail_is_sent(stack, mailbox):
    username = unique("admin")
    email = f"{username}@werkgever.example"
    response = Api(stack.gateway_url).post("/registrations", json=registration_form("Sporeloos BV", username, email))
    assert response.status_code == 201, response.text
    token = mailbox.wait_for(email, containing="token=").token()
    deadline = time.monotonic() + 10  # the relay marks the mail sent right after the SMTP server took it
    holding = {}
    while time.monotonic() < deadline:
        holding = {service: columns_holding(stack.database_urls[service], token) for service in SERVICES}
        if not any(holding.values()):
            break
        time.sleep(0.5)
    assert not any(holding.values()), holding
    # The link still works: what identity keeps of it is no use to anyone who reads the database.
    assert Api(stack.gateway_url).post("/password-setups", json={
        "token": token, "password": "Zeven zonnige zeilboten!"}).status_code == 200


# --- the client address --------------------------------------------------------------------------------

def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(stack):
    username = unique("nobody")
    response = Api(stack.gateway_url).post("/sessions", headers={"X-Forwarded-For": "203.0.113.99"},
                                           json={"username": username, "password": "not the password at all"})
    assert response.status_code == 401
    recorded = rows(stack.database_urls["identity"],
                    "SELECT client_address FROM login_failures WHERE username_lower = :name", name=username)
    assert recorded == [("127.0.0.1",)]
