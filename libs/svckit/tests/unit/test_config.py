import pytest

from svckit.config import Env, SettingError, database_url, mask_url


def test_defaults_apply_when_unset_or_blank():
    env = Env({"BLANK": "  "})
    assert env.int("MISSING", 5) == 5
    assert env.str("BLANK", "x") == "x"


def test_missing_required_setting_names_it():
    with pytest.raises(SettingError, match="^TOKEN is not set$"):
        Env({}).str("TOKEN")


@pytest.mark.parametrize("raw, message", [
    ("abc", "GRPC_PORT must be a whole number, got 'abc'"),
    ("0", "GRPC_PORT must be at least 1, got 0"),
    ("70000", "GRPC_PORT must be at most 65535, got 70000"),
])
def test_bad_port_is_one_clear_line(raw, message):
    with pytest.raises(SettingError) as caught:
        Env({"GRPC_PORT": raw}).port("GRPC_PORT", 50051)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_address_needs_host_and_port():
    assert Env({"A": "identity:50051"}).address("A") == "identity:50051"
    with pytest.raises(SettingError, match="A must be host:port"):
        Env({"A": "identity"}).address("A")


def test_database_url_defaults_to_sqlite_under_var_dir():
    assert database_url(Env({}), "consent", "var") == "sqlite:///var/consent.db"


def test_database_url_takes_postgres_with_the_psycopg_driver():
    url = database_url(Env({"DATABASE_URL": "postgresql://u:p@db/consent"}), "consent", "var")
    assert url == "postgresql+psycopg://u:p@db/consent"


def test_database_url_rejects_other_schemes_without_showing_the_password():
    with pytest.raises(SettingError) as caught:
        database_url(Env({"DATABASE_URL": "mysql://u:secret@db/x"}), "consent", "var")
    assert "secret" not in str(caught.value)
    assert "DATABASE_URL" in str(caught.value)


def test_mask_url_hides_only_the_password():
    assert mask_url("amqp://guest:guest@host:5672/%2F") == "amqp://guest:***@host:5672/%2F"
    assert mask_url("sqlite:///var/x.db") == "sqlite:///var/x.db"


def test_clock_offset_setting_moves_time():
    from datetime import datetime, timedelta, timezone

    from svckit.clock import SystemClock, clock_from_setting
    assert isinstance(clock_from_setting(0), SystemClock)
    moved = clock_from_setting(2 * 86400).now()
    assert moved - datetime.now(timezone.utc) > timedelta(days=1, hours=23)


def test_a_moved_clock_is_refused_outside_development():
    from svckit.config import clock_offset_seconds
    assert clock_offset_seconds(Env({})) == 0.0
    assert clock_offset_seconds(Env({"CLOCK_OFFSET_SECONDS": "0"})) == 0.0
    with pytest.raises(SettingError, match="CLOCK_OFFSET_SECONDS is allowed only with DEVELOPMENT=1"):
        clock_offset_seconds(Env({"CLOCK_OFFSET_SECONDS": "86400"}))
    assert clock_offset_seconds(Env({"CLOCK_OFFSET_SECONDS": "86400", "DEVELOPMENT": "1"})) == 86400.0


def test_development_is_a_yes_or_no():
    from svckit.config import development
    assert development(Env({})) is False
    assert development(Env({"DEVELOPMENT": "1"})) is True
    with pytest.raises(SettingError, match="DEVELOPMENT must be one of 0, 1"):
        development(Env({"DEVELOPMENT": "yes"}))


def _process(environ):
    from svckit.config import process_settings
    return process_settings(Env(environ), "identity", grpc_port=50051, metrics_port=9101)


def test_a_service_listens_on_loopback_without_reflection_unless_told():
    settings = _process({})
    assert (settings["bind_host"], settings["metrics_bind_host"], settings["reflection"]) == (
        "127.0.0.1", "127.0.0.1", False)


def test_containers_set_the_bind_address_and_metrics_follow_it():
    settings = _process({"GRPC_BIND_HOST": "0.0.0.0", "GRPC_REFLECTION": "1"})
    assert (settings["bind_host"], settings["metrics_bind_host"], settings["reflection"]) == (
        "0.0.0.0", "0.0.0.0", True)
    assert _process({"GRPC_BIND_HOST": "0.0.0.0", "METRICS_BIND_HOST": "127.0.0.1"})["metrics_bind_host"] == "127.0.0.1"
    assert _process({"GRPC_BIND_HOST": "[::]"})["bind_host"] == "::"


@pytest.mark.parametrize("environ, message", [
    ({"GRPC_BIND_HOST": "0.0.0.0:50051"}, "GRPC_BIND_HOST must be a host name or an IP address, got '0.0.0.0:50051'"),
    ({"METRICS_BIND_HOST": "every where"}, "METRICS_BIND_HOST must be a host name or an IP address, got 'every where'"),
    ({"GRPC_REFLECTION": "yes"}, "GRPC_REFLECTION must be one of 0, 1, got 'yes'"),
])
def test_a_bad_bind_address_or_reflection_setting_is_one_clear_line(environ, message):
    with pytest.raises(SettingError) as caught:
        _process(environ)
    assert str(caught.value) == message
