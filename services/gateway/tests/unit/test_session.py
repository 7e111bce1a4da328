import time

import grpc
import jwt

from gateway.auth import Principal, SessionCheck


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


class _Ended(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNAUTHENTICATED

    def details(self):
        return "the session has ended; log in again"


class _Unavailable(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNAVAILABLE

    def details(self):
        return "failed to connect"

    def trailing_metadata(self):
        return ()


def test_a_token_that_names_no_session_is_refused(client, signing_key, backends):
    token = signing_key.token(sid=None)
    response = client.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert backends.session_checks == []


def test_a_token_of_an_ended_session_is_refused(client, signing_key, backends):
    def ended(_request):
        raise _Ended()
    backends.replies[("identity", "CheckSession")] = ended
    token = signing_key.token()
    response = client.get("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["detail"] == "the session has ended; log in again"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    _, _, asked = backends.session_checks[0]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (asked.session_id, asked.account_id) == (claims["sid"], claims["sub"])


def test_when_identity_cannot_say_nothing_is_let_through(client, signing_key, backends):
    def down(_request):
        raise _Unavailable()
    backends.replies[("identity", "CheckSession")] = down
    response = client.get("/api/v1/session", headers={"Authorization": f"Bearer {signing_key.token()}"})
    assert response.status_code == 503


def test_a_live_session_is_asked_again_after_half_a_second_and_an_ended_one_never():
    now = [100.0]
    answers = {"s1": True}
    asked = []

    def ask(session_id, account_id):
        asked.append(session_id)
        return answers[session_id]

    check = SessionCheck(ask, fresh_seconds=0.5, timer=lambda: now[0])
    principal = Principal("a1", "professional", "pro1", "s1")
    assert check.is_live(principal) and check.is_live(principal)
    assert asked == ["s1"]                                  # a burst of requests asks once
    answers["s1"] = False                                   # logged out on another gateway
    now[0] += 0.5
    assert not check.is_live(principal)
    assert asked == ["s1", "s1"]
    now[0] += 60
    assert not check.is_live(principal)
    assert asked == ["s1", "s1"]                            # an ended session stays ended


def test_a_live_answer_is_per_account_as_well_as_per_session():
    check = SessionCheck(lambda session_id, account_id: account_id == "owner", fresh_seconds=0.5)
    assert check.is_live(Principal("owner", "professional", "p", "s1"))
    assert not check.is_live(Principal("someone-else", "professional", "p", "s1"))
