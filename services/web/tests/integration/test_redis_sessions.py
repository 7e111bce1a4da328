"""Sessions kept in Redis: the tokens are there, under the web's prefix, and never in the cookie;
a second app (another process or replica) with the same store and key knows the person."""
from __future__ import annotations

import pytest
import redis

from web import config
from web.bootstrap import create_app

pytestmark = pytest.mark.integration

TOKENS = {"access_token": "access-token-value", "refresh_token": "refresh-token-value", "expires_in": 600,
          "account": {"account_id": "p1", "kind": "professional", "username": "anna", "display_name": "Anna"}}


class FakeApi:
    def log_in(self, username, password):
        return TOKENS

    def dossier(self, token, professional_id):
        assert token == "access-token-value"
        return {"professional_id": professional_id, "display_name": "Anna", "progress": None}


def test_tokens_live_in_redis_and_any_replica_reads_them(redis_url):
    environ = {"DEVELOPMENT": "1", "WEB_SESSION_STORE_URL": redis_url, "WEB_SECRET_KEY": "k" * 40}
    first, second = (create_app(config.load(environ), api=FakeApi()) for _ in range(2))
    for app in (first, second):
        app.config["WTF_CSRF_ENABLED"] = False
    client = first.test_client()
    response = client.post("/login", data={"username": "anna", "password": "pw"})
    cookie = response.headers["Set-Cookie"]
    assert "access-token-value" not in cookie and "refresh-token-value" not in cookie
    session_id = client.get_cookie("pe_session").value
    store = redis.Redis.from_url(redis_url)
    stored = [key for key in store.scan_iter("pe-web:*") if b"access-token-value" in (store.get(key) or b"")]
    assert stored
    other = second.test_client()
    other.set_cookie("pe_session", session_id)
    assert "Anna" in other.get("/dossier").get_data(as_text=True)
    store.delete(*stored)
