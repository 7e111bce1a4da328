"""A process started with a bad setting or an unreachable dependency exits with one clear line."""
import os
import subprocess
import sys

import pytest

from support.stack import ROOT

pytestmark = pytest.mark.system

UNREACHABLE_DB = "postgresql+psycopg://pe:secret@127.0.0.1:1/none"
UNREACHABLE_BROKER = "amqp://guest:secret@127.0.0.1:1/%2F"


@pytest.fixture
def run(tmp_path, port_factory, certificates):
    def run(module, **env):
        return _run(module, tmp_path, port_factory, **{**certificates.env(module), **env})
    return run


def _run(module, tmp_path, port_factory, **env):
    environ = {**{k: v for k, v in os.environ.items() if not k.startswith(("TLS_", "GRPC_", "DEVELOPMENT"))},
               "VAR_DIR": str(tmp_path), "GRPC_PORT": str(port_factory()),
               "METRICS_PORT": str(port_factory()), "GATEWAY_PORT": str(port_factory()), **env}
    return subprocess.run([sys.executable, "-m", module], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=60)


def _assert_one_clear_line(result, module, *phrases):
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{module}: ")
    for phrase in phrases:
        assert phrase in lines[0]
    assert "Traceback" not in result.stderr and "secret" not in result.stderr


@pytest.mark.parametrize("module", ["identity", "organisation", "consent", "reporting"])
def test_unreachable_database(module, run, amqp_url):
    result = run(module, DATABASE_URL=UNREACHABLE_DB, AMQP_URL=amqp_url)
    _assert_one_clear_line(result, module, "cannot reach the database", "DATABASE_URL")


@pytest.mark.parametrize("module", ["identity", "organisation", "consent", "reporting"])
def test_unreachable_broker(module, run):
    result = run(module, AMQP_URL=UNREACHABLE_BROKER)
    _assert_one_clear_line(result, module, "cannot reach RabbitMQ", "AMQP_URL")


@pytest.mark.parametrize("module, setting, value, phrase", [
    ("identity", "GRPC_PORT", "abc", "GRPC_PORT must be a whole number"),
    ("consent", "DATABASE_URL", "mysql://x/y", "DATABASE_URL must be a URL starting with"),
    ("reporting", "AMQP_URL", "http://broker", "AMQP_URL must be a URL starting with"),
    ("gateway", "IDENTITY_ADDR", "identity", "IDENTITY_ADDR must be host:port"),
    ("gateway", "GATEWAY_PORT", "-1", "GATEWAY_PORT must be at least 1"),
])
def test_malformed_setting(module, setting, value, phrase, run):
    result = run(module, **{setting: value})
    _assert_one_clear_line(result, module, phrase)


@pytest.mark.parametrize("module", ["identity", "organisation", "consent", "reporting", "gateway"])
def test_without_its_certificate_a_process_does_not_start(module, tmp_path, port_factory):
    result = _run(module, tmp_path, port_factory)
    _assert_one_clear_line(result, module, f"TLS_CA_FILE ({tmp_path}/tls/ca.crt) cannot be read")


@pytest.mark.parametrize("module, setting", [("identity", "TLS_CERT_FILE"), ("gateway", "TLS_KEY_FILE")])
def test_a_certificate_or_key_that_is_not_one_is_named(module, setting, run, tmp_path):
    (tmp_path / "junk.pem").write_text("junk")
    _assert_one_clear_line(run(module, **{setting: str(tmp_path / "junk.pem")}), module, setting)


def test_the_certificate_of_another_process_is_refused(run, certificates):
    files = certificates.files("gateway")
    result = run("consent", TLS_CERT_FILE=files.cert_file, TLS_KEY_FILE=files.key_file)
    _assert_one_clear_line(result, "consent", "is the certificate of 'gateway', not of 'consent'")


@pytest.mark.parametrize("module", ["identity", "gateway"])
def test_grpc_without_tls_is_refused_outside_development(module, run):
    _assert_one_clear_line(run(module, GRPC_TLS="off"), module, "GRPC_TLS=off is allowed only with DEVELOPMENT=1")


def test_identity_does_not_start_without_the_key_that_encrypts_its_signing_keys(run, amqp_url):
    result = run("identity", AMQP_URL=amqp_url)
    _assert_one_clear_line(result, "identity", "SIGNING_KEY_ENCRYPTION_KEY", "is not set")
