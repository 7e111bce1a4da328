"""The OpenAPI document against the Flask routes it describes: clients are generated from it, so
every route of the API is in it, and every operation has a stable operationId."""
import re

import pytest

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
