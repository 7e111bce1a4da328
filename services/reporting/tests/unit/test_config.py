"""Settings: defaults that run locally, and one clear line for a bad value."""
import pytest

from reporting import config
from svckit.config import SettingError


def test_defaults_run_locally():
    settings = config.load({})
    assert (settings.grpc_port, settings.metrics_port) == (50054, 9104)
    assert settings.consent_addr == "127.0.0.1:50053" and settings.organisation_addr == "127.0.0.1:50052"
    assert settings.identity_addr == "127.0.0.1:50051"
    assert settings.report_wait_seconds == 5.0 and settings.pdf_workers == 2
    assert (settings.consent_exchange, settings.consent_queue) == ("pe.consent", "reporting.consent-events")
    assert (settings.registry_exchange, settings.registry_queue) == ("pe.registry", "reporting.registry-events")


@pytest.mark.parametrize("name, value, phrase", [
    ("CONSENT_ADDR", "consent", "CONSENT_ADDR must be host:port"),
    ("REPORT_WAIT_SECONDS", "soon", "REPORT_WAIT_SECONDS must be a number"),
    ("PDF_WORKERS", "-1", "PDF_WORKERS must be at least 0"),
])
def test_a_bad_value_is_one_line_naming_it(name, value, phrase):
    with pytest.raises(SettingError, match=phrase):
        config.load({name: value})
