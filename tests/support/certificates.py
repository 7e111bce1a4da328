"""Certificates for tests: a CA of a test's own (svckit.pki) and the TLS material of any name."""
from __future__ import annotations

from pathlib import Path

from svckit import pki, tls
from svckit.config import TlsFiles


class Certificates:
    """A private CA under `folder`; each name asked for gets its key and certificate on first use."""

    def __init__(self, folder: Path):
        self.folder = folder

    def files(self, name: str) -> TlsFiles:
        pki.ensure(self.folder, [name])
        cert, key = pki.paths(self.folder, name)
        return TlsFiles(process=name, ca_file=str(pki.ca_paths(self.folder)[0]), cert_file=str(cert),
                        key_file=str(key))

    def tls(self, name: str) -> tls.Tls:
        return tls.load(self.files(name))

    def env(self, name: str) -> dict[str, str]:
        """The settings a process named `name` reads its TLS material from."""
        files = self.files(name)
        return {"TLS_CA_FILE": files.ca_file, "TLS_CERT_FILE": files.cert_file, "TLS_KEY_FILE": files.key_file}
