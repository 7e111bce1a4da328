"""The pages as deployed: behind nginx or an ingress controller, probed by the container's healthcheck."""
from __future__ import annotations

import http.server
import json
import threading

import pytest
from cachelib import SimpleCache

from web import config
from web.bootstrap import create_app


@pytest.fixture
def gateway():
    """A stand-in for the gateway that refuses every login and notes who it was told the client is."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the standard library's name)
            seen.append(self.headers.get("X-Forwarded-For"))
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps({"type": "about:blank", "title": "Unauthorized", "status": 401}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def _pages(gateway_url: str, **environ: str):
    settings = config.load({"DEVELOPMENT": "1", "GATEWAY_URL": gateway_url, **environ})
    app = create_app(settings, session_store=SimpleCache())
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


def _log_in_from(client, person: str, proxy: str) -> None:
    client.post("/login", data={"username": "anna", "password": "wrong"},
                headers={"X-Forwarded-For": person}, environ_base={"REMOTE_ADDR": proxy})


def test_behind_one_proxy_the_gateway_is_told_the_persons_address(gateway):
    url, seen = gateway
    _log_in_from(_pages(url, TRUSTED_PROXY_HOPS="1"), person="203.0.113.7", proxy="10.0.0.2")
    assert seen == ["203.0.113.7"]


def test_without_a_trusted_proxy_a_sent_address_is_not_believed(gateway):
    url, seen = gateway
    _log_in_from(_pages(url), person="203.0.113.7", proxy="10.0.0.2")
    assert seen == ["10.0.0.2"]


def test_healthz_answers_without_asking_the_gateway(gateway):
    url, seen = gateway
    response = _pages(url).get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert seen == []
