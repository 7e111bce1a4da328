"""Password hashing (Argon2id with OWASP's parameters) and the list of common passwords."""
from __future__ import annotations

import os
import threading
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


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Argon2Hasher:
    """Argon2id, with at most `max_concurrent` hashes computed at once (default: one per usable CPU).

    Each hash holds its memory (19 MiB) and a whole core until it is done, so more at once than
    there are cores only take turns on them: every one of them finishes later, they push each
    other's memory out of the caches (measured: a verify took about 20% longer with eight at once
    on two cores than with two), and a burst of logins would claim memory without bound. Beyond
    the limit, callers wait for a turn.
    """

    def __init__(self, *, memory_kib: int = OWASP_MEMORY_KIB, time_cost: int = OWASP_TIME_COST,
                 parallelism: int = OWASP_PARALLELISM, max_concurrent: int | None = None):
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
                                      hash_len=32, salt_len=16, type=Type.ID)
        self._turns = threading.BoundedSemaphore(max_concurrent or usable_cpus())
        # Checked when there is no hash to check against, so that an unknown username takes as
        # long to refuse as a wrong password.
        self._dummy = self._hasher.hash("no account has this password, it is only here for timing")

    def hash(self, password: str) -> str:
        with self._turns:
            return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            with self._turns:
                verified = self._hasher.verify(password_hash or self._dummy, password)
            return verified and password_hash is not None
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
