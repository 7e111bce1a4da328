def test_healthz_says_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_is_200_when_all_four_services_serve(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert set(response.json["services"]) == {"identity", "organisation", "consent", "reporting"}


def test_readyz_is_503_problem_naming_what_is_not_ready(client, backends):
    backends.statuses["consent"] = "UNREACHABLE"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert "consent" in response.json["detail"]
    assert response.headers["Retry-After"]


def test_metrics_count_requests_by_route_template(client):
    from prometheus_client import REGISTRY, generate_latest
    client.get("/healthz")
    text = generate_latest(REGISTRY).decode()
    assert 'pe_gateway_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "pe_gateway_http_request_duration_seconds_bucket" in text


def test_metrics_are_not_served_on_the_api_port(client):
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
