"""Bad input on every route that takes a body: a 4xx problem+json naming the field, and no service call."""
import pytest

VALID_REGISTRATION = {
    "organisation": {"name": "Uitzendbureau De Brug", "chamber_of_commerce_number": "12345678",
                     "visiting_address": {"street": "Kade 1", "postcode": "1234 AB", "city": "Utrecht"},
                     "phone": "030 123 4567", "email": "info@debrug.example"},
    "applicant": {"name": "Anna de Vries", "email": "hr@debrug.example", "phone": "030 123 4568",
                  "username": "debrug-hr"},
}

PUBLIC_ROUTES = [
    ("/api/v1/registrations", VALID_REGISTRATION),
    ("/api/v1/password-setup-links", {"username_or_email": "debrug-hr"}),
    ("/api/v1/password-setups", {"token": "t" * 43, "password": "a long enough password"}),
    ("/api/v1/sessions", {"username": "debrug-hr", "password": "a long enough password"}),
    ("/api/v1/sessions/refresh", {"refresh_token": "r" * 43}),
    ("/api/v1/sessions/revoke", {"refresh_token": "r" * 43}),
]


def _fields(response):
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)
    return {error["field"] for error in response.json.get("errors", [])}


@pytest.mark.parametrize("path, body", PUBLIC_ROUTES)
def test_invalid_json_is_400(client, backends, path, body):
    response = client.post(path, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert backends.calls == []


@pytest.mark.parametrize("path, body", PUBLIC_ROUTES)
def test_unknown_field_is_named(client, backends, path, body):
    response = client.post(path, json={**body, "is_admin": True})
    assert response.status_code == 400
    assert "is_admin" in _fields(response)
    assert backends.calls == []


@pytest.mark.parametrize("path, body", PUBLIC_ROUTES)
def test_each_missing_field_is_named(client, backends, path, body):
    for field in body:
        partial = {k: v for k, v in body.items() if k != field}
        response = client.post(path, json=partial)
        assert response.status_code == 400
        assert field in _fields(response)
    assert backends.calls == []


@pytest.mark.parametrize("path, body", PUBLIC_ROUTES)
def test_wrong_types_are_named(client, backends, path, body):
    field = next(iter(body))
    response = client.post(path, json={**body, field: 12345})
    assert response.status_code == 400
    assert field in _fields(response)
    assert backends.calls == []


def test_nested_fields_at_fault_are_named_with_their_path(client, backends):
    body = {**VALID_REGISTRATION, "organisation": {**VALID_REGISTRATION["organisation"], "email": "not-an-address",
                                                    "visiting_address": {"street": "Kade 1", "city": "Utrecht"}},
            "applicant": {**VALID_REGISTRATION["applicant"], "username": "x" * 65}}
    response = client.post("/api/v1/registrations", json=body)
    assert response.status_code == 400
    assert {"organisation.email", "organisation.visiting_address.postcode", "applicant.username"} <= _fields(response)
    assert backends.calls == []


def test_over_long_strings_are_refused(client, backends):
    response = client.post("/api/v1/sessions", json={"username": "u" * 300, "password": "p"})
    assert response.status_code == 400 and "username" in _fields(response)


def test_body_over_the_size_limit_is_413(client, backends):
    body = {**VALID_REGISTRATION, "organisation": {**VALID_REGISTRATION["organisation"], "name": "x" * 5000}}
    response = client.post("/api/v1/registrations", json=body)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert backends.calls == []


def test_a_json_array_instead_of_an_object_is_refused(client, backends):
    response = client.post("/api/v1/sessions", json=["username", "password"])
    assert response.status_code == 400
    assert backends.calls == []


def test_over_long_idempotency_key_is_refused(client, backends):
    response = client.post("/api/v1/registrations", json=VALID_REGISTRATION, headers={"Idempotency-Key": "k" * 201})
    assert response.status_code == 400
    assert backends.calls == []


AUTHENTICATED_ROUTES = [
    ("POST", "/api/v1/consents", {"organisation_id": "3f0c5a55-7c1e-4c39-9d0e-3f5a3a1c0b11",
                                  "contact_ids": ["6a1f2c55-7c1e-4c39-9d0e-3f5a3a1c0b11"], "end_date": "2027-03-31"}),
    ("PATCH", "/api/v1/consents/3f0c5a55-7c1e-4c39-9d0e-3f5a3a1c0b11", {"end_date": "2027-03-31"}),
    ("POST", "/api/v1/professionals", {"username": "pro-1", "email": "p@x.example", "display_name": "P",
                                       "pe_registration_number": "PE1"}),
    ("POST", "/api/v1/organisations/3f0c5a55-7c1e-4c39-9d0e-3f5a3a1c0b11/contacts",
     {"role": "contact", "name": "N", "email": "n@x.example", "username": "n-1"}),
    ("POST", "/api/v1/organisations/3f0c5a55-7c1e-4c39-9d0e-3f5a3a1c0b11/reject", {"reason": "r"}),
]


@pytest.mark.parametrize("method, path, body", AUTHENTICATED_ROUTES)
def test_anonymous_callers_are_refused_before_their_input_is_read(client, backends, method, path, body):
    response = client.open(path, method=method, data="{not json", content_type="application/json")
    assert response.status_code == 401
    assert backends.calls == []


@pytest.mark.parametrize("method, path, body", AUTHENTICATED_ROUTES)
def test_bad_input_on_authenticated_routes_names_the_field(client, backends, signing_key, method, path, body):
    token = signing_key.token(kind="operator")
    headers = {"Authorization": f"Bearer {token}"}
    for field in body:
        response = client.open(path, method=method, json={**body, field: ["wrong", "type"]}, headers=headers)
        assert response.status_code == 400, (field, response.get_data(as_text=True))
        assert any(f == field or f.startswith(field + ".") for f in _fields(response)), field
    response = client.open(path, method=method, json={**body, "extra": 1}, headers=headers)
    assert response.status_code == 400 and "extra" in _fields(response)
    assert backends.calls == []


def test_consent_end_date_must_be_a_date(client, backends, signing_key):
    headers = {"Authorization": f"Bearer {signing_key.token()}"}
    response = client.patch("/api/v1/consents/3f0c5a55-7c1e-4c39-9d0e-3f5a3a1c0b11",
                            json={"end_date": "31-03-2027"}, headers=headers)
    assert response.status_code == 400 and _fields(response) == {"end_date"}


def test_malformed_ids_in_paths_are_404(client, backends, signing_key):
    headers = {"Authorization": f"Bearer {signing_key.token()}"}
    assert client.get("/api/v1/organisations/not-a-uuid", headers=headers).status_code == 404
    assert backends.calls == []


def test_unknown_report_format_is_named(client, backends, signing_key):
    headers = {"Authorization": f"Bearer {signing_key.token(kind='employer_contact')}"}
    response = client.get("/api/v1/organisations/3f0c5a55-7c1e-4c39-9d0e-3f5a3a1c0b11/reports/overview",
                          query_string={"format": "docx"}, headers=headers)
    assert response.status_code == 400 and _fields(response) == {"format"}
    assert backends.calls == []


def _login(client, raw: str):
    return client.post("/api/v1/sessions", data=raw.encode(), content_type="application/json")


def test_json_nested_too_deeply_to_read_is_a_400_naming_the_body(make_app, backends):
    client = make_app(MAX_BODY_BYTES="65536").test_client()
    response = _login(client, "[" * 5000 + "]" * 5000)
    assert response.status_code == 400 and _fields(response) == {"body"}
    assert backends.calls == []


def test_a_field_nested_deeper_than_any_request_is_named(client, backends):
    response = _login(client, '{"username": ' + "[" * 40 + "]" * 40 + ', "password": "p"}')
    assert response.status_code == 400 and _fields(response) == {"username"}
    assert backends.calls == []


def test_a_number_too_long_to_read_is_a_400(make_app, backends):
    client = make_app(MAX_BODY_BYTES="65536").test_client()
    response = _login(client, '{"username": ' + "9" * 5000 + ', "password": "p"}')
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert backends.calls == []


@pytest.mark.parametrize("raw, field", [
    ('{"username": "debrug-hr", "password": "\\ud800"}', "password"),          # a lone surrogate
    ('{"username": "debrug-hr", "password": "abc\\udfffdef"}', "password"),
    ('{"username": "debrug\\u0000hr", "password": "p"}', "username"),          # NUL
])
def test_text_a_service_cannot_keep_is_a_400_naming_the_field(client, backends, raw, field):
    response = _login(client, raw)
    assert response.status_code == 400 and _fields(response) == {field}
    assert backends.calls == []


def test_text_in_nested_fields_is_named_with_its_path(client, backends):
    body = {**VALID_REGISTRATION, "applicant": {**VALID_REGISTRATION["applicant"], "name": "Anna\u0000"}}
    response = client.post("/api/v1/registrations", json=body)
    assert response.status_code == 400 and _fields(response) == {"applicant.name"}
    assert backends.calls == []


def test_nul_in_a_query_is_a_400_naming_the_parameter(client, backends, signing_key):
    headers = {"Authorization": f"Bearer {signing_key.token(kind='operator')}"}
    response = client.get("/api/v1/organisations?name=De%00Brug", headers=headers)
    assert response.status_code == 400 and _fields(response) == {"name"}
    assert backends.calls == []


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/api/v1/consents", {"organisation_id": "3f0c5a55-7c1e-4c39-9d0e-3f5a3a1c0b11",
                                  "contact_ids": ["6a1f2c55-7c1e-4c39-9d0e-3f5a3a1c0b11"]}),
    ("PATCH", "/api/v1/consents/3f0c5a55-7c1e-4c39-9d0e-3f5a3a1c0b11", {}),
])
def test_an_end_date_past_the_latest_is_a_400_naming_it(client, backends, signing_key, method, path, body):
    headers = {"Authorization": f"Bearer {signing_key.token()}"}
    response = client.open(path, method=method, json={**body, "end_date": "9999-12-31"}, headers=headers)
    assert response.status_code == 400 and _fields(response) == {"end_date"}
    assert "9999-12-30" in response.json["errors"][0]["message"]
    assert backends.calls == []


def test_the_latest_end_date_is_in_the_openapi_document(client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert schemas["Grant"]["properties"]["end_date"]["x-maximum"] == "9999-12-30"
    assert schemas["EndDate"]["properties"]["end_date"]["x-maximum"] == "9999-12-30"
