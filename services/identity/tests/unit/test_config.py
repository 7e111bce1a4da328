"""Settings: defaults that run locally; a bad value is one line naming it."""
from datetime import timedelta

import pytest

from identity import config
from svckit.config import SettingError


KEY = {"SIGNING_KEY_ENCRYPTION_KEY": "q0f1cGVfEWgMPKSXH1XbN8aXfL7wIG6-6d-R5ZQW3sU"}


def test_defaults():
    settings = config.load(KEY)
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.mail_from == "noreply@pe-insight.local"
    assert settings.link_ttl == timedelta(hours=72)
    assert settings.access_token_ttl == timedelta(minutes=10)
    assert settings.refresh_token_ttl == timedelta(hours=12)
    limits = settings.login_limits
    assert (limits.failures_per_address, limits.window, limits.free_failures) == (5, timedelta(minutes=15), 3)
    assert (limits.max_delay, limits.failures_per_day) == (timedelta(seconds=30), 100)
    assert (settings.link_mails_per_hour, settings.email_change_ttl) == (3, timedelta(hours=24))
    assert settings.argon2_max_concurrent == 0  # one per usable CPU


def test_settings_are_read():
    settings = config.load({**KEY, "PUBLIC_URL": "https://pe.example.org/", "LINK_TTL_HOURS": "24",
                            "ACCESS_TOKEN_MINUTES": "15", "LOGIN_FAILURES_PER_ADDRESS": "3", "ARGON2_MAX_CONCURRENT": "4",
                            "LINK_MAILS_PER_HOUR": "5"})
    assert settings.public_url == "https://pe.example.org"
    assert settings.link_ttl == timedelta(hours=24)
    assert settings.access_token_ttl == timedelta(minutes=15)
    assert settings.login_limits.failures_per_address == 3
    assert settings.link_mails_per_hour == 5
    assert settings.argon2_max_concurrent == 4


@pytest.mark.parametrize("name, value, phrase", [
    ("ACCESS_TOKEN_MINUTES", "16", "ACCESS_TOKEN_MINUTES must be at most 15"),
    ("LINK_TTL_HOURS", "soon", "LINK_TTL_HOURS must be a whole number"),
    ("MAIL_FROM", "nobody", "MAIL_FROM must be an e-mail address"),
    ("PUBLIC_URL", "ftp://x", "PUBLIC_URL must be a URL starting with"),
    ("LOGIN_FAILURES_PER_ADDRESS", "0", "LOGIN_FAILURES_PER_ADDRESS must be at least 1"),
    # NIST SP 800-63B 5.2.2: at most 100 guesses, and no wait so long that it keeps the owner out.
    ("LOGIN_FAILURES_PER_DAY", "101", "LOGIN_FAILURES_PER_DAY must be at most 100"),
    ("LOGIN_MAX_DELAY_SECONDS", "31", "LOGIN_MAX_DELAY_SECONDS must be at most 30"),
    ("ARGON2_MAX_CONCURRENT", "-1", "ARGON2_MAX_CONCURRENT must be at least 0"),
])
def test_a_bad_setting_is_named(name, value, phrase):
    with pytest.raises(SettingError) as caught:
        config.load({**KEY, name: value})
    assert phrase in str(caught.value) and "\n" not in str(caught.value)


def test_the_key_encryption_key_is_read_as_given():
    with pytest.raises(SettingError, match="SIGNING_KEY_ENCRYPTION_KEY must be 32 random bytes"):
        config.load({"SIGNING_KEY_ENCRYPTION_KEY": "short"})
    assert config.load({"SIGNING_KEY_ENCRYPTION_KEY_FILE": "/run/secrets/kek"}).signing_kek_file == "/run/secrets/kek"
    development = config.load({"DEVELOPMENT": "1", "VAR_DIR": "/tmp/pe"})
    assert (development.signing_kek, development.signing_kek_file, development.var_dir) == (None, None, "/tmp/pe")
    assert development.development and not config.load({}).development
