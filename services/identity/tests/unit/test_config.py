"""Settings: defaults that run locally; a bad value is one line naming it."""
from datetime import timedelta

import pytest

from identity import config
from svckit.config import SettingError


def test_defaults():
    settings = config.load({})
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.mail_from == "noreply@pe-insight.local"
    assert settings.link_ttl == timedelta(hours=72)
    assert settings.access_token_ttl == timedelta(minutes=10)
    assert settings.refresh_token_ttl == timedelta(hours=12)
    limits = settings.login_limits
    assert (limits.account_max_failures, limits.account_window, limits.account_lock) == (
        5, timedelta(minutes=15), timedelta(minutes=15))
    assert (limits.address_max_failures, limits.address_window) == (20, timedelta(minutes=15))
    assert settings.argon2_max_concurrent == 0  # one per usable CPU


def test_settings_are_read():
    settings = config.load({"PUBLIC_URL": "https://pe.example.org/", "LINK_TTL_HOURS": "24",
                            "ACCESS_TOKEN_MINUTES": "15", "LOGIN_MAX_FAILURES": "3", "ARGON2_MAX_CONCURRENT": "4"})
    assert settings.public_url == "https://pe.example.org"
    assert settings.link_ttl == timedelta(hours=24)
    assert settings.access_token_ttl == timedelta(minutes=15)
    assert settings.login_limits.account_max_failures == 3
    assert settings.argon2_max_concurrent == 4


@pytest.mark.parametrize("name, value, phrase", [
    ("ACCESS_TOKEN_MINUTES", "16", "ACCESS_TOKEN_MINUTES must be at most 15"),
    ("LINK_TTL_HOURS", "soon", "LINK_TTL_HOURS must be a whole number"),
    ("MAIL_FROM", "nobody", "MAIL_FROM must be an e-mail address"),
    ("PUBLIC_URL", "ftp://x", "PUBLIC_URL must be a URL starting with"),
    ("LOGIN_LOCK_MINUTES", "0", "LOGIN_LOCK_MINUTES must be at least 1"),
    ("ARGON2_MAX_CONCURRENT", "-1", "ARGON2_MAX_CONCURRENT must be at least 0"),
])
def test_a_bad_setting_is_named(name, value, phrase):
    with pytest.raises(SettingError) as caught:
        config.load({name: value})
    assert phrase in str(caught.value) and "\n" not in str(caught.value)
