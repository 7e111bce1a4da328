"""Settings: defaults that run locally, and one clear line for a bad value."""
import pytest

from consent import config
from svckit.config import SettingError


def test_defaults_run_locally():
    settings = config.load({})
    assert (settings.organisation_addr, settings.identity_addr) == ("127.0.0.1:50052", "127.0.0.1:50051")
    assert (settings.reminder_days, settings.expiry_interval_seconds) == (14, 60.0)
    assert settings.public_url.startswith("http") and "@" in settings.mail_from
    assert settings.access_check_workers == 4


@pytest.mark.parametrize("name, value, phrase", [
    ("ORGANISATION_ADDR", "organisation", "ORGANISATION_ADDR must be host:port"),
    ("IDENTITY_ADDR", "x:99999", "IDENTITY_ADDR must be host:port"),
    ("REMINDER_DAYS", "0", "REMINDER_DAYS must be at least 1"),
    ("EXPIRY_INTERVAL_SECONDS", "soon", "EXPIRY_INTERVAL_SECONDS must be a number"),
    ("PUBLIC_URL", "ftp://x", "PUBLIC_URL must be a URL"),
    ("MAIL_FROM", "nobody", "MAIL_FROM must be an e-mail address"),
    ("ACCESS_CHECK_WORKERS", "0", "ACCESS_CHECK_WORKERS must be at least 1"),
])
def test_bad_settings_name_themselves(name, value, phrase):
    with pytest.raises(SettingError, match=phrase):
        config.load({name: value})
