"""The pages against a fake of the gateway's API: what a person sees, in Dutch and English."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from cachelib import SimpleCache

from web import config
from web.bootstrap import create_app
from web.catalogue import EN
from web.gateway import ApiError

TOKENS = {"access_token": "a", "refresh_token": "r", "expires_in": 600,
          "account": {"account_id": "p1", "kind": "professional", "username": "anna", "display_name": "Anna"}}


class FakeApi:
    def __init__(self):
        self.calls = []
        self.errors = {}

    def __getattr__(self, name):
        def operation(*args, **kwargs):
            self.calls.append((name, args))
            if name in self.errors:
                raise self.errors[name]
            return {"log_in": TOKENS, "register": {"organisation_id": "o1"}}.get(name, {})
        return operation


@pytest.fixture
def api():
    return FakeApi()


@pytest.fixture
def client(api):
    settings = config.load({"DEVELOPMENT": "1"})
    app = create_app(settings, api=api, session_store=SimpleCache())
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


def test_login_keeps_the_tokens_on_the_server_and_the_cookie_http_only(client, api):
    response = client.post("/login", data={"username": "anna", "password": "pw"})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "a" not in cookie.split(";")[0].split("=")[0]
    assert ("log_in", ("anna", "pw")) in api.calls


def test_a_refused_field_is_told_next_to_it_in_the_pages_language(client, api):
    api.errors["register"] = ApiError(400, errors=[{"field": "organisation.visiting_address.postcode",
                                                     "message": "Missing data for required field."}])
    page = client.post("/apply", data={"organisation.name": "X"}).get_data(as_text=True)
    assert 'id="organisation-visiting_address-postcode-error">Vul dit veld in.' in page
    client.post("/language", data={"language": "en"})
    page = client.post("/apply", data={"organisation.name": "X"}).get_data(as_text=True)
    assert "Fill in this field." in page and 'lang="en"' in page


def test_wrong_password_and_rate_limit_messages(client, api):
    api.errors["log_in"] = ApiError(401, "urn:pe-insight:problem:invalid-credentials")
    assert "Gebruikersnaam of wachtwoord klopt niet." in client.post("/login", data={}).get_data(as_text=True)
    api.errors["log_in"] = ApiError(429, retry_after="30")
    assert "over 30 seconden" in client.post("/login", data={}).get_data(as_text=True)


def test_pages_of_a_role_are_refused_to_others_and_need_a_login(client, api):
    assert client.get("/consents").headers["Location"].startswith("/login")
    client.post("/login", data={"username": "anna", "password": "pw"})
    assert client.get("/operator/organisations").status_code == 403


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_every_dutch_text_has_its_english():
    root = Path(__file__).resolve().parents[2] / "web"
    pattern = re.compile(r'''_\(\s*"((?:[^"\\]|\\.)*)"|^\s*\(re\.compile\(.*?, "(.*?)"\),$|^\s*(?:\d+|"[a-z-]+"): "(.*?)",$''', re.M)
    sources = list(root.rglob("*.html")) + list(root.rglob("pages/*.py")) + [root / "problems.py"]
    texts = {text for path in sources for match in pattern.findall(path.read_text()) for text in match if text}
    assert texts and sorted(t for t in texts if t not in EN) == []


def test_forms_refuse_a_post_without_csrf_token(api):
    app = create_app(config.load({"DEVELOPMENT": "1"}), api=api, session_store=SimpleCache())
    response = app.test_client().post("/login", data={"username": "anna", "password": "pw"})
    assert response.status_code == 400 and api.calls == []


def test_dates_are_typed_as_people_write_them():
    from web.pages.professional import parse_date
    assert parse_date("31-03-2027") == "2027-03-31" and parse_date("1-4-2027") == "2027-04-01"
    assert parse_date("2027-03-31") == "2027-03-31" and parse_date(" ") is None
    for bad in ("31-02-2027", "morgen", "2027/31/03"):
        with pytest.raises(ValueError):
            parse_date(bad)


def test_a_grant_without_contact_or_with_a_bad_date_is_told_per_field(client, api):
    client.post("/login", data={"username": "anna", "password": "pw"})
    organisation = "6eb7c915-3d90-48ae-bd6c-a1ff803187db"
    page = client.post(f"/consents/new/{organisation}", data={"end_date": "30-02-2027"}).get_data(as_text=True)
    assert 'id="contact_ids-error">Kies minstens één contactpersoon of afdeling.' in page
    assert 'id="end_date-error">Vul een datum in als dd-mm-jjjj' in page
    assert not [call for call in api.calls if call[0] == "grant"]


def test_under_https_the_cookie_is_secure_and_browsers_keep_to_https(api):
    settings = config.load({"DEVELOPMENT": "1", "PUBLIC_URL": "https://pe-insight.example"})
    app = create_app(settings, api=api, session_store=SimpleCache())
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/login", data={"username": "anna", "password": "pw"},
                                      base_url="https://pe-insight.example")
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_secret_key_is_required_outside_development():
    with pytest.raises(config.SettingError, match="WEB_SECRET_KEY"):
        config.load({})
    with pytest.raises(config.SettingError, match="at least 32"):
        config.load({"WEB_SECRET_KEY": "short"})


def test_the_apis_messages_in_dutch_and_english(client):
    from web.problems import field_message, row_message
    with client.application.test_request_context():
        assert field_message("must be exactly 8 digits, not all zeros") == "Vul precies 8 cijfers in."
        assert field_message("must be 3 to 64 letters, digits and . _ - @") == "Gebruik 3 tot 64 letters, cijfers en . _ - @"
        assert row_message("email: Not a valid email address.; username: Length must be between 3 and 64.") == \
            "email: Vul een geldig e-mailadres in. username: Gebruik 3 tot 64 tekens."
        assert field_message("something nobody foresaw") == "Deze waarde is niet geldig."
        from flask import session
        session["language"] = "en"
        from flask import g
        g.pop("language", None)
        assert field_message("must be exactly 8 digits, not all zeros") == "Enter exactly 8 digits."


def test_logging_in_gives_a_new_session_id_and_keeps_the_language(client):
    client.post("/language", data={"language": "en"})
    before = client.get_cookie("pe_session").value
    client.post("/login", data={"username": "anna", "password": "pw"})
    assert client.get_cookie("pe_session").value != before
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)


def test_a_value_the_generated_model_cannot_take_is_a_message_not_a_crash():
    from web.gateway import ApiError, _model
    from pe_insight_client.models import Grant
    with pytest.raises(ApiError) as refused:
        _model(Grant, {"organisation_id": "not-a-uuid", "contact_ids": ["x"], "end_date": None})
    assert refused.value.status == 400
