"""Security headers on API answers and on the docs page, whose policy allows only the gateway's own files."""
from html.parser import HTMLParser

import pytest

API_ANSWERS = ["/healthz", "/api/v1/openapi.json", "/api/v1/session", "/api/v1/no-such-thing", "/.well-known/jwks.json"]


class _PageParts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.inline_scripts, self.styles, self.style_attributes = [], 0, 0, 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "style" in attrs or any(name.startswith("on") for name in attrs):
            self.style_attributes += 1
        if tag == "script":
            self._in_script = "src" not in attrs
            if "src" in attrs:
                self.scripts.append(attrs["src"])
        if tag == "style":
            self.styles += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", API_ANSWERS)
def test_api_answers_carry_the_security_headers(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "Strict-Transport-Security" not in response.headers  # the default public URL is http


def test_the_docs_page_runs_only_the_gateways_own_files(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    policy = _directives(page.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["default-src"] == ["'none'"]
    parts = _PageParts()
    parts.feed(page.get_data(as_text=True))
    assert parts.inline_scripts == 0 and parts.styles == 0 and parts.style_attributes == 0
    assert parts.scripts, "the page starts Swagger UI from script files"
    for script in parts.scripts:
        assert script.startswith("/"), script  # same origin
        asset = client.get(script)
        assert asset.status_code == 200 and asset.data
        asset.close()


def test_the_docs_start_script_loads_the_openapi_document_the_page_names(client):
    page = client.get("/api/docs").get_data(as_text=True)
    assert 'data-spec-url="/api/v1/openapi.json"' in page
    script = client.get("/api/docs/start.js").get_data(as_text=True)
    assert "SwaggerUIBundle" in script and "specUrl" in script


def test_with_an_https_public_url_answers_carry_hsts(make_app):
    client = make_app(PUBLIC_URL="https://pe-insight.example").test_client()
    for path in ("/healthz", "/api/docs"):
        assert client.get(path).headers["Strict-Transport-Security"].startswith("max-age=")
