"""Every JSON route of the OpenAPI document, sent arbitrary JSON as anonymous and authenticated callers:
never a 5xx, and every 4xx a problem document.

Routes are read from the app's own OpenAPI document, so a new route is covered without a change
here. The services are fakes that answer every call with an empty reply of the right type: what
they answer does not matter, only what the gateway lets through to them and how it answers.
"""
import json
import uuid

import pytest
from google.protobuf import message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import config
from gateway.app import create_app
from gateway.auth import TokenVerifier
from gateway.ratelimits import LIMITS
from pe.consent.v1 import consent_pb2
from pe.identity.v1 import identity_pb2
from pe.organisation.v1 import organisation_pb2
from pe.reporting.v1 import reporting_pb2

SERVICES = {"identity": identity_pb2.DESCRIPTOR.services_by_name["IdentityService"],
            "organisation": organisation_pb2.DESCRIPTOR.services_by_name["OrganisationService"],
            "consent": consent_pb2.DESCRIPTOR.services_by_name["ConsentService"],
            "reporting": reporting_pb2.DESCRIPTOR.services_by_name["ReportingService"]}
CALLERS = ["anonymous", "operator", "professional", "employer_contact"]


class EmptyReplies:
    """Every service answers every call with an empty reply of the method's type."""
    timeout = 1.0

    def call(self, service, method, request, timeout=None):
        output = SERVICES[service].methods_by_name[method].output_type
        return message_factory.GetMessageClass(output)()

    def health(self, timeout=None):
        return {name: "SERVING" for name in SERVICES}


def _app(signing_key=None):
    # Bodies up to 64 KiB, as deployed; the rate limits out of the way of hundreds of requests.
    settings_ = config.load({limit.setting: "100000 per minute" for limit in LIMITS})
    keys = {signing_key.key_id: signing_key.x} if signing_key else {}
    return create_app(settings_, backends=EmptyReplies(), verifier=TokenVerifier(lambda: keys))


def _json_routes() -> tuple[list[tuple[str, str, dict]], dict]:
    document = _app().test_client().get("/api/v1/openapi.json").json
    routes = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue  # path-wide parameters
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                routes.append((method.upper(), path, content["application/json"]["schema"]))
    return routes, document["components"]["schemas"]


ROUTES, COMPONENTS = _json_routes()


# --- arbitrary JSON ---------------------------------------------------------------------------------

def _characters():
    return st.one_of(st.characters(), st.characters(categories=["Cs"]), st.just("\x00"))


TEXT = st.one_of(st.text(_characters(), max_size=30), st.integers(0, 70_000).map(lambda n: "x" * n),
                 st.sampled_from(["", "9999-12-31", "0001-01-01", "2027-02-30", str(uuid.uuid4()), "\ud800",
                                  "a\x00b"]))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=2 ** 64) | st.integers(max_value=-2 ** 64),
                    st.floats(), TEXT)
ANY_JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                        max_leaves=12)


def _shaped(schema: dict):
    """Values of the schema's shape (with edge cases), or anything at all, at every level."""
    if "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    kind, format_ = schema.get("type"), schema.get("format")
    if "enum" in schema:
        shaped = st.sampled_from(schema["enum"])
    elif kind == "object" and "properties" in schema:
        shaped = st.fixed_dictionaries({}, optional={name: st.deferred(lambda s=sub: _shaped(s))
                                                     for name, sub in schema["properties"].items()})
    elif kind == "array":
        shaped = st.lists(st.deferred(lambda: _shaped(schema.get("items", {}))), max_size=3)
    elif format_ == "date":
        shaped = st.dates().map(lambda day: day.isoformat()) | st.sampled_from(["9999-12-31", "9999-12-30"])
    elif format_ == "uuid":
        shaped = st.uuids().map(str)
    elif kind == "string":
        shaped = TEXT
    elif kind in ("integer", "number"):
        shaped = st.integers() | st.floats()
    elif kind == "boolean":
        shaped = st.booleans()
    else:
        shaped = ANY_JSON
    return st.one_of(shaped, ANY_JSON)


def _encoded(value) -> bytes:
    return json.dumps(value).encode()  # ASCII: surrogates and NUL travel as \u escapes


def _raw_bodies():
    depth = st.integers(1, 6000)
    digits = st.integers(1, 6000)
    return st.one_of(
        depth.map(lambda n: ("[" * n + "]" * n).encode()),
        depth.map(lambda n: ('{"password": ' + "[" * n + "]" * n + "}").encode()),
        digits.map(lambda n: ('{"username": ' + "9" * n + "}").encode()),
        st.text(_characters(), max_size=50).map(lambda text: text.encode("utf-8", "surrogatepass")),
        ANY_JSON.map(_encoded))


def _bodies(schema):
    return st.one_of(_shaped(schema).map(_encoded), _raw_bodies())


def _concrete(path: str) -> str:
    return "/".join(str(uuid.uuid4()) if part.startswith("{") else part for part in path.split("/"))


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("method, path, schema", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_arbitrary_json_never_gets_a_5xx(signing_key, method, path, schema, caller):
    client = _app(signing_key).test_client()
    headers = {} if caller == "anonymous" else {
        "Authorization": f"Bearer {signing_key.token(kind=caller, sub=str(uuid.uuid4()))}"}

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=_bodies(schema))
    def check(body):
        response = client.open(_concrete(path), method=method, data=body, headers=headers,
                               content_type="application/json")
        assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
        if response.status_code >= 400:
            assert response.mimetype == "application/problem+json", response.get_data(as_text=True)[:500]

    check()


def test_the_json_routes_are_read_from_the_openapi_document():
    found = {(method, path) for method, path, _ in ROUTES}
    assert {("POST", "/api/v1/sessions"), ("POST", "/api/v1/registrations"), ("POST", "/api/v1/consents"),
            ("PATCH", "/api/v1/consents/{consent_id}")} <= found
