"""Password hashing (Argon2id with OWASP's parameters) and the list of common passwords."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Protocol

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from identity.domain import PasswordPolicy

# OWASP Password Storage Cheat Sheet: Argon2id, 19 MiB of memory, 2 iterations, 1 degree of parallelism.
OWASP_MEMORY_KIB = 19456
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str | None, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class Argon2Hasher:
    def __init__(self, *, memory_kib: int = OWASP_MEMORY_KIB, time_cost: int = OWASP_TIME_COST,
                 parallelism: int = OWASP_PARALLELISM):
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
                                      hash_len=32, salt_len=16, type=Type.ID)
        # Checked when there is no hash to check against, so that an unknown username takes as
        # long to refuse as a wrong password.
        self._dummy = self._hasher.hash("no account has this password, it is only here for timing")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list (zxcvbn's 'passwords' frequency list), lower-case, one a line."""
    text = resources.files("identity").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def default_policy() -> PasswordPolicy:
    return PasswordPolicy(common=common_passwords())
