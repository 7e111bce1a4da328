"""TLS settings: where each process's files are, and one clear line for any that is missing or wrong."""
from datetime import datetime, timedelta, timezone

import pytest

from svckit import pki, tls
from svckit.config import Env, SettingError, TlsFiles, process_settings, tls_files


def _refused(files: TlsFiles, **kwargs) -> str:
    with pytest.raises(SettingError) as caught:
        tls.load(files, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_by_default_the_files_make_run_makes_under_var_dir():
    assert tls_files(Env({"VAR_DIR": "/srv/pe"}), "consent") == TlsFiles(
        process="consent", ca_file="/srv/pe/tls/ca.crt", cert_file="/srv/pe/tls/consent.crt",
        key_file="/srv/pe/tls/consent.key")


def test_the_files_are_settings():
    env = Env({"TLS_CA_FILE": "/run/secrets/ca", "TLS_CERT_FILE": "/run/secrets/cert", "TLS_KEY_FILE": "/run/secrets/key"})
    assert tls_files(env, "identity") == TlsFiles("identity", "/run/secrets/ca", "/run/secrets/cert",
                                                   "/run/secrets/key")


def test_without_tls_only_on_a_developers_machine():
    with pytest.raises(SettingError, match="^GRPC_TLS=off is allowed only with DEVELOPMENT=1$"):
        tls_files(Env({"GRPC_TLS": "off"}), "identity")
    assert tls_files(Env({"GRPC_TLS": "off", "DEVELOPMENT": "1"}), "identity") is None
    with pytest.raises(SettingError, match="^GRPC_TLS must be one of on, off, got 'no'$"):
        tls_files(Env({"GRPC_TLS": "no"}), "identity")


def test_every_service_process_reads_them():
    settings = process_settings(Env({"VAR_DIR": "v"}), "reporting", grpc_port=50054, metrics_port=9104)
    assert settings["tls"] == TlsFiles("reporting", "v/tls/ca.crt", "v/tls/reporting.crt", "v/tls/reporting.key")


def test_good_files_load(certificates):
    loaded = tls.load(certificates.files("identity"))
    assert loaded.process == "identity" and b"BEGIN CERTIFICATE" in loaded.cert
    assert tls.load(None) is None


def test_a_missing_file_is_named(certificates, tmp_path):
    files = certificates.files("identity")
    message = _refused(TlsFiles("identity", str(tmp_path / "nothing.crt"), files.cert_file, files.key_file))
    assert message == f"TLS_CA_FILE ({tmp_path}/nothing.crt) cannot be read: No such file or directory"


def test_a_file_that_is_no_certificate_is_named(certificates, tmp_path):
    files = certificates.files("identity")
    (tmp_path / "cert.pem").write_text("hello")
    message = _refused(TlsFiles("identity", files.ca_file, str(tmp_path / "cert.pem"), files.key_file))
    assert message == f"TLS_CERT_FILE ({tmp_path}/cert.pem) is not a PEM certificate"
    message = _refused(TlsFiles("identity", files.ca_file, files.cert_file, str(tmp_path / "cert.pem")))
    assert message == f"TLS_KEY_FILE ({tmp_path}/cert.pem) is not an unencrypted PEM private key"


def test_a_key_of_another_certificate_is_named(certificates):
    files, other = certificates.files("identity"), certificates.files("consent")
    message = _refused(TlsFiles("identity", files.ca_file, files.cert_file, other.key_file))
    assert message == f"TLS_KEY_FILE ({other.key_file}) is not the key of the certificate in TLS_CERT_FILE"


def test_a_certificate_of_another_ca_is_named(certificates, other_certificates):
    ours, theirs = certificates.files("identity"), other_certificates.files("identity")
    message = _refused(TlsFiles("identity", ours.ca_file, theirs.cert_file, theirs.key_file))
    assert message == f"TLS_CERT_FILE ({theirs.cert_file}) was not signed by the CA in TLS_CA_FILE"


def test_a_certificate_of_another_process_is_named(certificates):
    other = certificates.files("consent")
    message = _refused(TlsFiles("identity", other.ca_file, other.cert_file, other.key_file))
    assert message == f"TLS_CERT_FILE ({other.cert_file}) is the certificate of 'consent', not of 'identity'"


def test_an_expired_certificate_is_named(tmp_path):
    pki.ensure(tmp_path, ["identity"], now=datetime.now(timezone.utc) - timedelta(days=400))
    cert, key = pki.paths(tmp_path, "identity")
    message = _refused(TlsFiles("identity", str(pki.ca_paths(tmp_path)[0]), str(cert), str(key)))
    assert message.startswith(f"TLS_CERT_FILE ({cert}) is valid only from ")

