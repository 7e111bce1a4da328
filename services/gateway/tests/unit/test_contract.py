"""The OpenAPI document against the Flask routes it describes: clients are generated from it, so
every route of the API is in it, and every operation has a stable operationId."""
import json
import re
import uuid

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from pe.organisation.v1 import organisation_pb2

METHODS = {"get", "post", "put", "patch", "delete"}
# Served by the gateway but not part of the JSON API: probes, the docs page and the document itself.
NOT_IN_API = {"probes.healthz", "probes.readyz", "docs_assets.asset", "docs_assets.start_script", "static",
              "api-docs.openapi_json", "api-docs.openapi_swagger_ui"}


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").json


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_every_route_is_documented(app, document):
    routes = {(_openapi_path(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.endpoint not in NOT_IN_API
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, method, _ in _operations(document)}
    assert routes == documented


def test_every_operation_has_a_unique_camel_case_operation_id(document):
    ids = [operation.get("operationId") for _, _, operation in _operations(document)]
    assert all(ids), [f"{m} {p}" for p, m, o in _operations(document) if not o.get("operationId")]
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]+)*", i) for i in ids), ids
    assert len(set(ids)) == len(ids)


def test_the_document_is_valid_openapi(document):
    validate(document)


def _resolve(document, node):
    while "$ref" in node:
        node = document["components"][node["$ref"].split("/")[-2]][node["$ref"].split("/")[-1]]
    return node


def test_every_operation_documents_its_errors_as_problem_json(document):
    for path, method, operation in _operations(document):
        errors = {int(code) for code in operation["responses"] if int(code) >= 400}
        expected = {502, 503, 504}
        if "requestBody" in operation:
            expected |= {400, 413, 415}
        if "{" in path:
            expected.add(404)
        if operation.get("security"):
            expected |= {401, 403}
        assert expected <= errors, (method, path, expected - errors)
        assert "default" not in operation["responses"]
        for code in errors:
            response = _resolve(document, operation["responses"][str(code)])
            assert list(response["content"]) == ["application/problem+json"], (method, path, code)
            assert response["content"]["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"}
            if code in (429, 503):
                assert "Retry-After" in response["headers"], (method, path, code)
            if code == 401:
                assert "WWW-Authenticate" in response["headers"], (method, path)


def test_the_routes_that_honour_an_idempotency_key_document_it(document):
    honouring = {"createRegistration", "createContact", "createProfessional", "grantConsents"}
    for _, method, operation in _operations(document):
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert ("Idempotency-Key" in names) == (operation["operationId"] in honouring), operation["operationId"]


def test_the_report_documents_its_json_schema_and_headers(document):
    ok = document["paths"]["/api/v1/organisations/{organisation_id}/reports/overview"]["get"]["responses"]["200"]
    assert {"X-Report-Id", "X-Consent-Log-Position"} <= set(ok["headers"])
    report = _resolve(document, ok["content"]["application/json"]["schema"])
    assert {"report_id", "professionals", "summary"} <= set(report["required"])


# The document's rules and the gateway's: each value is accepted by both or refused by both.
REGISTRATION = {
    "organisation": {"name": "Uitzendbureau De Brug", "chamber_of_commerce_number": "12345678",
                     "visiting_address": {"street": "Kade 1", "postcode": "1234 AB", "city": "Utrecht"},
                     "phone": "030 123 4567", "email": "info@debrug.example"},
    "applicant": {"name": "Anna de Vries", "email": "hr@debrug.example", "phone": "+31 30 123 4568",
                  "username": "debrug-hr"},
}
RULES = [
    (("organisation", "chamber_of_commerce_number"),
     ["12345678", "00000001"], ["1234567", "123456789", "00000000", "1234567a", "１２３４５６７８", "12345678\n"]),
    (("organisation", "visiting_address", "postcode"),
     ["1234 AB", "1234ab", "9999 zz"], ["0123 AB", "1234  AB", "1234 SA", "1234 ss", "12345 AB", "1234 A"]),
    (("organisation", "phone"),
     ["0301234567", "+31 30 123 4567", "030-123-4567", "123456789012345"],
     ["030 123", "1234567890123456", "030  1234567", "+", "030 123 4567 ", "tel 0301234567"]),
    (("applicant", "username"),
     ["abc", "anna.de-vries_2@hr", "a" * 64], ["ab", "a" * 65, "anna de vries", "anna/hr", "ánna"]),
    (("organisation", "name"), ["De Brug", " De Brug "], ["", "   ", "De\tBrug", "De\x7fBrug"]),
]


def _with(body, path, value):
    copy = json.loads(json.dumps(body))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return copy


@pytest.mark.parametrize("path, good, bad", RULES, ids=[rule[0][-1] for rule in RULES])
def test_the_gateway_enforces_the_rules_the_document_states(make_app, backends, document, path, good, bad):
    client = make_app(RATE_LIMIT_REGISTRATIONS="1000 per hour").test_client()
    schema = {**_resolve(document, document["paths"]["/api/v1/registrations"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]), "components": document["components"]}
    validator = OAS30Validator(schema)
    backends.replies[("organisation", "RegisterOrganisation")] = organisation_pb2.RegisterOrganisationResponse(
        organisation=organisation_pb2.Organisation(organisation_id=str(uuid.uuid4())))
    for value in good + bad:
        body = _with(REGISTRATION, path, value)
        in_document = validator.is_valid(body)
        response = client.post("/api/v1/registrations", json=body)
        assert in_document == (value in good), (value, list(validator.iter_errors(body)))
        assert (response.status_code == 201) == in_document, (value, response.json)
        if not in_document:
            assert response.status_code == 400
            assert ".".join(path) in {e["field"] for e in response.json["errors"]}, response.json


def test_a_wrong_method_names_the_allowed_ones(client):
    response = client.put("/api/v1/session")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "DELETE"}
    assert response.mimetype == "application/problem+json"


def test_a_body_that_is_not_json_is_415(client, backends):
    response = client.post("/api/v1/sessions", data="username=anna", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"
    assert backends.calls == []


@pytest.mark.parametrize("key", ["", "with space", "tab\there", "x" * 201, "\x01"])
def test_a_malformed_idempotency_key_is_400_naming_it(client, backends, signing_key, key):
    token = signing_key.token(kind="operator")
    response = client.post("/api/v1/professionals", headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                           json={"username": "jan.jansen", "email": "jan@example.nl", "display_name": "Jan Jansen",
                                 "pe_registration_number": "PE-1"})
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "Idempotency-Key"
    assert backends.calls == []


def test_every_link_leads_to_an_operation_and_fills_its_path(document):
    operations = {operation["operationId"]: (path, operation) for path, _, operation in _operations(document)}
    links = [(operation["operationId"], link) for _, _, operation in _operations(document)
             for response in operation["responses"].values() for link in response.get("links", {}).values()]
    assert links
    for source, link in links:
        path, _target = operations[link["operationId"]]
        assert set(re.findall(r"{(\w+)}", path)) == set(link["parameters"]), (source, link)
