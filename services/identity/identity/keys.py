"""Ed25519 keys that sign access tokens. The newest key in service signs; every key not yet retired
verifies, so a rotation never cuts short a token already issued.

Private halves are kept encrypted (AES-256-GCM) with a key-encryption key from outside the
database: a copy of the database alone signs nothing.
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from identity.repository import signing_keys, utc
from svckit.clock import Clock

_SEALED = b"pe1"          # marks an encrypted private key; a raw one is the 32 bytes alone
_NONCE = 12


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    x: str  # base64url of the raw public key, as in a JWK (RFC 8037)
    created_at: datetime


class KeyEncryptionError(Exception):
    """A private key cannot be opened with the key-encryption key given."""


class KeyEncryptionKey:
    """AES-256-GCM over a private key, bound to its key id (a sealed key cannot be moved to another row)."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("a key-encryption key has 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_text(cls, text: str) -> KeyEncryptionKey:
        return cls(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    @staticmethod
    def new_text() -> str:
        return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).rstrip(b"=").decode()

    def seal(self, key_id: str, private: bytes) -> bytes:
        nonce = os.urandom(_NONCE)
        return _SEALED + nonce + self._aead.encrypt(nonce, private, key_id.encode())

    def open(self, key_id: str, stored: bytes) -> bytes:
        if not is_sealed(stored):
            raise KeyEncryptionError(f"signing key {key_id} is not encrypted")
        nonce, sealed = stored[len(_SEALED):len(_SEALED) + _NONCE], stored[len(_SEALED) + _NONCE:]
        try:
            return self._aead.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise KeyEncryptionError(f"signing key {key_id} does not open with this key-encryption key") from None


def key_encryption_key(*, text: str | None, path: str | None, development_folder: str) -> KeyEncryptionKey:
    """The key given, or read from its file; in development (neither given) one kept in a file of
    `development_folder`, made on first use, readable by its owner only."""
    if text:
        return KeyEncryptionKey.from_text(text)
    if path:
        return KeyEncryptionKey.from_text(Path(path).read_text().strip())
    kept = Path(development_folder) / "identity-signing.kek"
    if not kept.exists():
        kept.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(KeyEncryptionKey.new_text() + "\n")
    return KeyEncryptionKey.from_text(kept.read_text().strip())


def is_sealed(stored: bytes) -> bool:
    return bytes(stored).startswith(_SEALED) and len(stored) > 32


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class SigningKeyStore:
    def __init__(self, engine: Engine, clock: Clock, kek: KeyEncryptionKey):
        self._engine, self._clock, self._kek = engine, clock, kek

    def ensure_key(self) -> None:
        """Make a first key on a new database, and encrypt keys stored before encryption was."""
        with self._engine.begin() as connection:
            self._seal_raw_keys(connection)
            in_service = connection.execute(
                select(signing_keys.c.key_id).where(signing_keys.c.retired_at.is_(None)).limit(1)).first()
            if not in_service:
                self._add_key(connection)
        self.signing_key()  # a key that does not open stops the process here, not at the first login

    def rotate(self, verify_for: timedelta) -> str:
        """A new key signs from now on; the others verify for `verify_for` more (the longest a token
        they signed can still be valid), then retire. Answers the new key's id."""
        now = self._clock.now()
        with self._engine.begin() as connection:
            connection.execute(update(signing_keys).where(signing_keys.c.retired_at.is_(None))
                               .values(retired_at=now + verify_for))
            return self._add_key(connection)

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        """The newest key in service: its id (the JWT `kid`) and its private half."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(signing_keys.c.key_id, signing_keys.c.private_key)
                .where(signing_keys.c.retired_at.is_(None))
                .order_by(signing_keys.c.created_at.desc(), signing_keys.c.key_id).limit(1)).first()
        if row is None:
            raise LookupError("no signing key; ensure_key() makes the first")
        return row.key_id, Ed25519PrivateKey.from_private_bytes(self._kek.open(row.key_id, row.private_key))

    def public_keys(self) -> list[PublicKey]:
        """Every key that may still have signed a valid token."""
        now = self._clock.now()
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(signing_keys.c.key_id, signing_keys.c.public_key, signing_keys.c.created_at)
                .where(or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > now))
                .order_by(signing_keys.c.created_at)).all()
        return [PublicKey(row.key_id, _b64url(row.public_key), utc(row.created_at)) for row in rows]

    def _add_key(self, connection: Connection) -> str:
        private = Ed25519PrivateKey.generate()
        public = _raw_public(private)
        key_id = _b64url(public[:12])
        connection.execute(insert(signing_keys).values(
            key_id=key_id, public_key=public, private_key=self._kek.seal(key_id, private.private_bytes_raw()),
            created_at=self._clock.now()))
        return key_id

    def _seal_raw_keys(self, connection: Connection) -> None:
        for row in connection.execute(select(signing_keys.c.key_id, signing_keys.c.private_key)).all():
            if not is_sealed(row.private_key):
                connection.execute(update(signing_keys).where(signing_keys.c.key_id == row.key_id)
                                   .values(private_key=self._kek.seal(row.key_id, bytes(row.private_key))))
