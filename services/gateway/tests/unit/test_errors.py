import grpc
import pytest


def test_unknown_route_is_a_problem_document(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404 and response.json["title"] == "Not Found"


def test_wrong_method_is_a_problem_document(client):
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"


def test_body_over_the_limit_is_413_problem(app):
    @app.post("/echo")
    def echo():
        from flask import request
        return request.get_json()

    response = app.test_client().post("/echo", data="x" * 4096, content_type="application/json")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_an_unexpected_failure_is_a_500_problem_without_a_trace(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "secret internals" not in response.get_data(as_text=True)
    assert response.json["request_id"]


def test_every_response_carries_the_request_id(client):
    response = client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"


class _CallError(grpc.RpcError):
    """A failed call as a gRPC client sees it."""

    def __init__(self, code, details):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return ()


TRANSPORT_DETAILS = ("failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:50051: "
                     "Failed to connect to remote host: Connection refused")


@pytest.mark.parametrize("code, status", [
    (grpc.StatusCode.UNAVAILABLE, 503), (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
    (grpc.StatusCode.UNIMPLEMENTED, 501), (grpc.StatusCode.INTERNAL, 502), (grpc.StatusCode.UNKNOWN, 502),
    (grpc.StatusCode.DATA_LOSS, 502)])
def test_a_failure_behind_the_gateway_is_told_in_its_own_words(client, backends, code, status):
    def fail(_request):
        raise _CallError(code, TRANSPORT_DETAILS)
    backends.replies[("identity", "Authenticate")] = fail
    response = client.post("/api/v1/sessions", json={"username": "someone", "password": "a password"})
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_data(as_text=True)
    for leak in ("127.0.0.1", "50051", "ipv4", "failed to connect", "Connection refused"):
        assert leak not in body
    assert response.json["detail"].startswith(("a service behind the gateway", "this is not supported"))


def test_a_services_own_message_for_the_caller_is_kept(client, backends):
    def refuse(_request):
        raise _CallError(grpc.StatusCode.UNAUTHENTICATED, "username or password is incorrect")
    backends.replies[("identity", "Authenticate")] = refuse
    response = client.post("/api/v1/sessions", json={"username": "someone", "password": "a password"})
    assert response.status_code == 401
    assert response.json["detail"] == "username or password is incorrect"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="pe-insight"'  # RFC 9110: every 401 has one
