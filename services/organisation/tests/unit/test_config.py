"""Settings: defaults that run locally, one clear line for a bad one."""
import pytest

from organisation import config
from svckit.config import SettingError


def test_defaults():
    settings = config.load({})
    assert settings.identity_addr == "127.0.0.1:50051"
    assert settings.mail_from == "noreply@pe-insight.local"
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.identity_timeout_seconds == 5.0


@pytest.mark.parametrize("name, value, phrase", [
    ("IDENTITY_ADDR", "identity", "IDENTITY_ADDR must be host:port"),
    ("MAIL_FROM", "noreply", "MAIL_FROM must be an e-mail address"),
    ("PUBLIC_URL", "ftp://x", "PUBLIC_URL must be a URL starting with"),
    ("IDENTITY_TIMEOUT_SECONDS", "0", "IDENTITY_TIMEOUT_SECONDS must be at least"),
])
def test_bad_settings_name_themselves(name, value, phrase):
    with pytest.raises(SettingError, match=phrase):
        config.load({name: value})
