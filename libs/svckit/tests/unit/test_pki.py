"""The development CA: one certificate per process, kept while good, made again when not."""
import ipaddress
import shutil
import stat
from datetime import datetime, timedelta, timezone

from cryptography import x509

from svckit import pki

NAMES = ["gateway", "identity"]


def _cert(folder, name) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pki.paths(folder, name)[0].read_bytes())


def _alternative_names(cert: x509.Certificate) -> set[str]:
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {*sans.get_values_for_type(x509.DNSName), *map(str, sans.get_values_for_type(x509.IPAddress))}


def test_a_ca_and_a_certificate_per_name_carrying_the_process_name_and_local_addresses(tmp_path):
    assert pki.ensure(tmp_path, NAMES, hosts=["identity.pe.svc"]) == {"ca": "made", "gateway": "made",
                                                                      "identity": "made"}
    ca = x509.load_pem_x509_certificate(pki.ca_paths(tmp_path)[0].read_bytes())
    identity = _cert(tmp_path, "identity")
    assert pki.common_name(identity) == "identity"
    assert pki.issued_by(identity, ca)
    assert _alternative_names(identity) == {"identity", "localhost", "127.0.0.1", "identity.pe.svc"}
    ips = identity.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.IPAddress)
    assert ips == [ipaddress.ip_address("127.0.0.1")]


def test_keys_are_readable_by_their_owner_only_unless_asked(tmp_path):
    pki.ensure(tmp_path, NAMES)
    for key in (pki.ca_paths(tmp_path)[1], pki.paths(tmp_path, "identity")[1]):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    pki.ensure(tmp_path / "compose", ["identity"], key_mode=0o644)
    assert stat.S_IMODE(pki.paths(tmp_path / "compose", "identity")[1].stat().st_mode) == 0o644
    assert stat.S_IMODE(pki.ca_paths(tmp_path / "compose")[1].stat().st_mode) == 0o600


def test_what_is_good_is_kept(tmp_path):
    pki.ensure(tmp_path, NAMES)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert pki.ensure(tmp_path, NAMES) == {"ca": "kept", "gateway": "kept", "identity": "kept"}
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


def test_a_certificate_that_expires_soon_is_renewed(tmp_path):
    long_ago = datetime.now(timezone.utc) - pki.LIFETIME + timedelta(days=10)
    pki.ensure(tmp_path, ["identity"], now=long_ago)
    assert pki.ensure(tmp_path, ["identity"]) == {"ca": "kept", "identity": "renewed"}
    assert _cert(tmp_path, "identity").not_valid_after_utc > datetime.now(timezone.utc) + timedelta(days=300)


def test_a_certificate_not_signed_by_the_present_ca_is_renewed(tmp_path):
    pki.ensure(tmp_path / "other", ["identity"])
    pki.ensure(tmp_path / "ours", ["identity"])
    for path in pki.paths(tmp_path / "other", "identity"):
        shutil.copy(path, tmp_path / "ours" / path.name)
    assert pki.ensure(tmp_path / "ours", ["identity"]) == {"ca": "kept", "identity": "renewed"}
    ca = x509.load_pem_x509_certificate(pki.ca_paths(tmp_path / "ours")[0].read_bytes())
    assert pki.issued_by(_cert(tmp_path / "ours", "identity"), ca)


def test_a_new_ca_renews_every_certificate(tmp_path):
    pki.ensure(tmp_path, NAMES)
    pki.ca_paths(tmp_path)[1].unlink()
    assert pki.ensure(tmp_path, NAMES) == {"ca": "renewed", "gateway": "renewed", "identity": "renewed"}


def test_a_certificate_without_the_names_asked_for_is_renewed(tmp_path):
    pki.ensure(tmp_path, ["identity"])
    assert pki.ensure(tmp_path, ["identity"], hosts=["identity.pe.svc"])["identity"] == "renewed"
    assert "identity.pe.svc" in _alternative_names(_cert(tmp_path, "identity"))


def test_a_damaged_key_is_replaced(tmp_path):
    pki.ensure(tmp_path, ["identity"])
    pki.paths(tmp_path, "identity")[1].write_text("not a key")
    assert pki.ensure(tmp_path, ["identity"])["identity"] == "renewed"


def test_the_command_makes_a_folder_of_them(tmp_path, capsys):
    assert pki.main([str(tmp_path / "tls"), "gateway", "consent", "--host", "consent.internal"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"made {tmp_path}/tls/ca.crt", f"made {tmp_path}/tls/gateway.crt", f"made {tmp_path}/tls/consent.crt"]
    assert "consent.internal" in _alternative_names(_cert(tmp_path / "tls", "consent"))
