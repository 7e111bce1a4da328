"""Fixtures of the identity tests: hashers cheap enough for tests where Argon2's cost is not the point."""
from __future__ import annotations

import pytest

from identity.passwords import Argon2Hasher


class PlainHasher:
    """Pretends to hash: for unit tests of the rules around hashing."""

    def hash(self, password: str) -> str:
        return "plain$" + password

    def verify(self, password_hash, password: str) -> bool:
        return password_hash is not None and password_hash == "plain$" + password

    def needs_rehash(self, password_hash: str) -> bool:
        return False


@pytest.fixture(scope="session")
def fast_hasher() -> Argon2Hasher:
    """Real Argon2id at the lowest cost."""
    return Argon2Hasher(memory_kib=8, time_cost=1, parallelism=1)


@pytest.fixture
def plain_hasher() -> PlainHasher:
    return PlainHasher()
