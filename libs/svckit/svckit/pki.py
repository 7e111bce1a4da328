"""A private certificate authority for development: a CA and one key and certificate per process.

    python -m svckit.pki FOLDER NAME... [--host HOST]... [--key-mode 600]

makes FOLDER/ca.crt and ca.key, and FOLDER/NAME.crt and NAME.key for each NAME (gateway, identity,
organisation, consent, reporting). A process is known to its peers by the name in its certificate
(the common name), and a client checks a server against the certificate's alternative names: the
process's name (its address in docker compose and Kubernetes), localhost and 127.0.0.1 (make run,
the tests), and every --host given.

What is there and still good is kept, so the command can run on every start: a certificate is
made again when it is missing, unreadable, expires within RENEW_WITHIN, was not signed by the
present CA, or does not carry the names asked for; a new CA makes every certificate new.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "pe-insight development CA"
CA_LIFETIME = timedelta(days=3650)
LIFETIME = timedelta(days=365)
RENEW_WITHIN = timedelta(days=30)
LOCAL_HOSTS = ("localhost", "127.0.0.1")


def ca_paths(folder: Path) -> tuple[Path, Path]:
    return folder / "ca.crt", folder / "ca.key"


def paths(folder: Path, name: str) -> tuple[Path, Path]:
    """Where the certificate and key of the process `name` are."""
    return folder / f"{name}.crt", folder / f"{name}.key"


def ensure(folder: Path, names: Sequence[str], *, hosts: Sequence[str] = (), key_mode: int = 0o600,
           now: datetime | None = None) -> dict[str, str]:
    """Make or keep the CA and a certificate per name under `folder`; answers what became of each
    ('made', 'renewed' or 'kept'), the CA under 'ca'."""
    now = now or datetime.now(timezone.utc)
    folder.mkdir(parents=True, exist_ok=True)
    outcome = {}
    ca_cert_path, ca_key_path = ca_paths(folder)
    ca = _usable(ca_cert_path, ca_key_path, now)
    if ca is not None and not _is_ca(ca[0]):
        ca = None
    if ca is None:
        ca = _make_ca(now)
        outcome["ca"] = "renewed" if ca_cert_path.exists() else "made"
        _write(ca_cert_path, ca_key_path, *ca, 0o600)  # no process needs the CA's key, whatever key_mode says
    else:
        outcome["ca"] = "kept"
    for name in names:
        cert_path, key_path = paths(folder, name)
        wanted = _alternative_names(name, hosts)
        found = _usable(cert_path, key_path, now)
        if found is not None and issued_by(found[0], ca[0]) and _names_of(found[0]) == (name, wanted):
            outcome[name] = "kept"
            continue
        outcome[name] = "renewed" if cert_path.exists() else "made"
        _write(cert_path, key_path, *_make_leaf(name, wanted, ca, now), key_mode)
    return outcome


def _usable(cert_path: Path, key_path: Path, now: datetime):
    """The certificate and key, if both read, belong together and stay valid beyond RENEW_WITHIN."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if cert.public_key() != key.public_key():
        return None
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc - RENEW_WITHIN:
        return None
    return cert, key


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Whether `ca` signed `cert`."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def common_name(cert: x509.Certificate) -> str | None:
    """The certificate's common name: the name of the process it belongs to."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def _alternative_names(name: str, hosts: Sequence[str]) -> frozenset[str]:
    return frozenset((name, *LOCAL_HOSTS, *hosts))


def _names_of(cert: x509.Certificate) -> tuple[str | None, frozenset[str]]:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None, frozenset()
    found = {*sans.get_values_for_type(x509.DNSName),
             *(str(address) for address in sans.get_values_for_type(x509.IPAddress))}
    return common_name(cert), frozenset(found)


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _make_ca(now: datetime):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _make_leaf(name: str, hosts: frozenset[str], ca, now: datetime):
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    # Both uses: every process is a server to some peers and a client of others.
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(min(now + LIFETIME, ca_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([_general_name(h) for h in sorted(hosts)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def _write(cert_path: Path, key_path: Path, cert: x509.Certificate, key, key_mode: int) -> None:
    # The key is written to a fresh file with its mode set from the start, never readable by others first.
    temporary = key_path.with_name(key_path.name + ".new")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, key_mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(temporary, key_mode)  # the umask may have taken bits off
    os.replace(temporary, key_path)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svckit.pki", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("names", nargs="+", metavar="NAME", help="a process: gateway, identity, ...")
    parser.add_argument("--host", action="append", default=[],
                        help="another name or address the services are reached at (repeatable)")
    parser.add_argument("--key-mode", default="600", type=lambda text: int(text, 8),
                        help="the keys' file mode, octal (default 600; docker compose's file secrets keep the "
                             "host's owner and mode, so its keys must be readable by the container's user: 644)")
    arguments = parser.parse_args(argv)
    outcome = ensure(arguments.folder, arguments.names, hosts=arguments.host, key_mode=arguments.key_mode)
    for name, what in outcome.items():
        print(f"{what} {arguments.folder / (name + '.crt')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
