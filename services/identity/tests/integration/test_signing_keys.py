"""Token-signing keys: kept encrypted with a key-encryption key from outside the database, rotated with
a command, old keys verifying until the last token they signed has expired."""
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from sqlalchemy import insert, select

from gateway.auth import TokenVerifier
from identity.__main__ import signing_keys
from identity.keys import KeyEncryptionKey
from identity.repository import signing_keys as signing_keys_table
from pe.identity.v1 import identity_pb2
from svckit.config import SettingError

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]


def _stored(engine) -> dict[str, bytes]:
    with engine.connect() as connection:
        rows = connection.execute(select(signing_keys_table.c.key_id, signing_keys_table.c.private_key)).all()
    return {row.key_id: bytes(row.private_key) for row in rows}


def test_the_private_key_is_stored_encrypted(harness, engine):
    key_id, private = harness.service.keys.signing_key()
    stored = _stored(engine)[key_id]
    assert private.private_bytes_raw() not in stored and len(stored) > 32


def test_another_key_encryption_key_stops_the_service_with_one_line(harness, settings, engine, clock):
    other = settings.__class__(**{**vars(settings), "signing_kek": KeyEncryptionKey.new_text()})
    with pytest.raises(SettingError) as refused:
        signing_keys(other, engine, clock)
    assert "SIGNING_KEY_ENCRYPTION_KEY does not open the signing keys" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_without_a_key_encryption_key_the_service_does_not_start_outside_development(settings, engine, clock):
    missing = settings.__class__(**{**vars(settings), "signing_kek": None})
    with pytest.raises(SettingError, match="SIGNING_KEY_ENCRYPTION_KEY .*is not set"):
        signing_keys(missing, engine, clock)


def test_a_key_stored_before_encryption_is_encrypted_on_start(settings, engine, clock):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    private = Ed25519PrivateKey.generate()
    with engine.begin() as connection:
        connection.execute(insert(signing_keys_table).values(
            key_id="legacy", public_key=private.public_key().public_bytes_raw(),
            private_key=private.private_bytes_raw(), created_at=clock.now()))
    keys = signing_keys(settings, engine, clock)
    assert keys.signing_key()[1].private_bytes_raw() == private.private_bytes_raw()
    assert private.private_bytes_raw() not in _stored(engine)["legacy"]


def test_a_rotated_key_signs_and_the_old_one_verifies_until_its_tokens_expire(harness, settings, engine, clock):
    harness.active()
    before = harness.login()
    old_kid = jwt.get_unverified_header(before.access_token)["kid"]
    new_kid = harness.service.keys.rotate(verify_for=settings.access_token_ttl)
    after = harness.login()
    assert jwt.get_unverified_header(after.access_token)["kid"] == new_kid != old_kid

    def published():
        return {key.key_id: key.x for key in harness.stub.ListSigningKeys(
            identity_pb2.ListSigningKeysRequest(), timeout=10).keys}

    verifier = TokenVerifier(published)
    assert verifier.verify(before.access_token) and verifier.verify(after.access_token)
    clock.advance(settings.access_token_ttl + timedelta(seconds=1))
    assert set(published()) == {new_kid}


def test_the_rotate_command(databases, tmp_path):
    url = databases.new("identity")
    kek = KeyEncryptionKey.new_text()
    env = {**os.environ, "DATABASE_URL": url, "VAR_DIR": str(tmp_path), "SIGNING_KEY_ENCRYPTION_KEY": kek}
    env.pop("DEVELOPMENT", None)

    def run(*args, **changes):
        return subprocess.run([sys.executable, "-m", "identity", *args], cwd=ROOT, env={**env, **changes},
                              capture_output=True, text=True, timeout=60)

    first = run("rotate-signing-key")
    assert first.returncode == 0, first.stderr
    second = run("rotate-signing-key")
    assert second.returncode == 0 and "signs from now on" in second.stdout
    refused = run("rotate-signing-key", SIGNING_KEY_ENCRYPTION_KEY="")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "SIGNING_KEY_ENCRYPTION_KEY" in refused.stderr
    printed = run("new-key-encryption-key")
    assert printed.returncode == 0 and KeyEncryptionKey.from_text(printed.stdout.strip())
