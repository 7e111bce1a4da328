import time


def test_session_without_token_is_401_with_bearer_challenge(client):
    response = client.get("/api/v1/session")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_session_with_valid_token_names_the_account(client, signing_key):
    token = signing_key.token(sub="3f0c5a55-7c1e-4c39-9d0e-3f5a3a1c0b11", kind="operator", username="op")
    response = client.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json == {"account_id": "3f0c5a55-7c1e-4c39-9d0e-3f5a3a1c0b11", "kind": "operator",
                             "username": "op"}


def test_expired_token_is_refused(client, signing_key):
    token = signing_key.token(exp=int(time.time()) - 10)
    response = client.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json["detail"]


def test_token_signed_by_another_key_with_the_same_key_id_is_refused(client, other_signing_key):
    other = other_signing_key
    response = client.get("/api/v1/session", headers={"Authorization": f"Bearer {other.token()}"})
    assert response.status_code == 401


def test_token_for_another_audience_is_refused(client, signing_key):
    response = client.get("/api/v1/session",
                          headers={"Authorization": f"Bearer {signing_key.token(aud='someone-else')}"})
    assert response.status_code == 401


def test_malformed_token_is_refused(client):
    response = client.get("/api/v1/session", headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401
