"""Mutual TLS on every gRPC connection: the settings, the credentials, and who the peer is.

Every process reads the same settings (svckit.config.tls_files): TLS_CA_FILE, TLS_CERT_FILE and
TLS_KEY_FILE, by default the files `make run` makes under VAR_DIR/tls (svckit.pki). Servers
require a client certificate signed by the CA, so a process without one gets no answer; each
service then lets a peer call a method only if its name is on that method's list
(svckit.peer_auth).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from google.protobuf.descriptor import ServiceDescriptor

from svckit import balancing
from svckit.config import SettingError, TlsFiles
from svckit.pki import common_name, issued_by


@dataclass(frozen=True)
class Tls:
    """A process's TLS material, checked: the certificate is its own, current and signed by the CA."""
    process: str
    ca: bytes
    cert: bytes
    key: bytes

    def server_credentials(self) -> grpc.ServerCredentials:
        """Clients must present a certificate signed by the CA; the handshake fails otherwise."""
        return grpc.ssl_server_credentials([(self.key, self.cert)], root_certificates=self.ca,
                                           require_client_auth=True)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """The server must show a certificate of the CA for the host it is called by; ours goes along."""
        return grpc.ssl_channel_credentials(root_certificates=self.ca, private_key=self.key,
                                            certificate_chain=self.cert)


def load(files: TlsFiles | None, *, now: datetime | None = None) -> Tls | None:
    """Read and check the files; a missing, unreadable or invalid one raises SettingError naming it."""
    if files is None:
        return None
    now = now or datetime.now(timezone.utc)
    ca_pem, cert_pem, key_pem = (_read("TLS_CA_FILE", files.ca_file), _read("TLS_CERT_FILE", files.cert_file),
                                 _read("TLS_KEY_FILE", files.key_file))
    authorities = _certificates("TLS_CA_FILE", files.ca_file, ca_pem)
    cert = _certificates("TLS_CERT_FILE", files.cert_file, cert_pem)[0]
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise SettingError(f"TLS_KEY_FILE ({files.key_file}) is not an unencrypted PEM private key") from None
    if key.public_key() != cert.public_key():
        raise SettingError(f"TLS_KEY_FILE ({files.key_file}) is not the key of the certificate in TLS_CERT_FILE")
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        raise SettingError(f"TLS_CERT_FILE ({files.cert_file}) is valid only from {cert.not_valid_before_utc:%Y-%m-%d} "
                           f"to {cert.not_valid_after_utc:%Y-%m-%d}")
    if not any(issued_by(cert, authority) for authority in authorities):
        raise SettingError(f"TLS_CERT_FILE ({files.cert_file}) was not signed by the CA in TLS_CA_FILE")
    name = common_name(cert)
    if name != files.process:
        raise SettingError(f"TLS_CERT_FILE ({files.cert_file}) is the certificate of {name!r}, "
                           f"not of {files.process!r}")
    return Tls(process=files.process, ca=ca_pem, cert=cert_pem, key=key_pem)


def open_channel(address: str, tls: Tls | None, options: Sequence[tuple[str, object]] = (), *,
                 service: ServiceDescriptor | None = None) -> grpc.Channel:
    """The one way a process opens a channel to another: over mutual TLS, or in plain text when
    TLS was turned off (GRPC_TLS=off, development only).

    `address` is the service's host:port, resolved by DNS to all of its replicas, which the
    channel takes in turn; the reads of `service` (the proto's service the channel calls) and the
    health check are retried on UNAVAILABLE, nothing else (svckit.balancing). `options` add to
    those, such as a client's own reconnect back-off."""
    channel_options = [*balancing.channel_options([service] if service is not None else []), *options]
    if tls is None:
        return grpc.insecure_channel(balancing.target(address), options=channel_options)
    return grpc.secure_channel(balancing.target(address), tls.channel_credentials(), options=channel_options)


def peer_name(context: grpc.ServicerContext) -> str | None:
    """The name of the process calling, from the certificate it showed and the server verified;
    None on a connection without TLS."""
    names = context.auth_context().get("x509_common_name")
    return names[0].decode() if names else None


def _read(variable: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise SettingError(f"{variable} ({path}) cannot be read: {error.strerror or error}") from None


def _certificates(variable: str, path: str, pem: bytes) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise SettingError(f"{variable} ({path}) is not a PEM certificate") from None
