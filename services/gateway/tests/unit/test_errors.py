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
