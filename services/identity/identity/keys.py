"""Ed25519 keys that sign access tokens. The newest unretired key signs; all unretired keys verify."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from identity.repository import signing_keys, utc
from svckit.clock import Clock


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    x: str  # base64url of the raw public key, as in a JWK (RFC 8037)
    created_at: datetime


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _raw_public(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class SigningKeyStore:
    def __init__(self, engine: Engine, clock: Clock):
        self._engine, self._clock = engine, clock

    def ensure_key(self) -> None:
        """Make a first key on a new database; a no-op afterwards."""
        with self._engine.begin() as connection:
            exists = connection.execute(
                select(signing_keys.c.key_id).where(signing_keys.c.retired_at.is_(None)).limit(1)).first()
            if exists:
                return
            private = Ed25519PrivateKey.generate()
            public = _raw_public(private)
            connection.execute(insert(signing_keys).values(
                key_id=_b64url(public[:12]), public_key=public,
                private_key=private.private_bytes_raw(), created_at=self._clock.now()))

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        """The newest unretired key: its id (the JWT `kid`) and its private half."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(signing_keys.c.key_id, signing_keys.c.private_key)
                .where(signing_keys.c.retired_at.is_(None))
                .order_by(signing_keys.c.created_at.desc(), signing_keys.c.key_id).limit(1)).first()
        if row is None:
            raise LookupError("no signing key; ensure_key() makes the first")
        return row.key_id, Ed25519PrivateKey.from_private_bytes(row.private_key)

    def public_keys(self) -> list[PublicKey]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(signing_keys.c.key_id, signing_keys.c.public_key, signing_keys.c.created_at)
                .where(signing_keys.c.retired_at.is_(None)).order_by(signing_keys.c.created_at)).all()
        return [PublicKey(row.key_id, _b64url(row.public_key), utc(row.created_at)) for row in rows]
