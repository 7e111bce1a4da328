"""The password policy (OWASP ASVS) says exactly which rule failed; Argon2id has OWASP's parameters."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from identity.domain import InvalidInput, PasswordPolicy
from identity.passwords import Argon2Hasher, common_passwords, default_policy

USER = dict(username="j.jansen", email="jan.jansen@example.org")


@pytest.fixture(scope="module")
def policy() -> PasswordPolicy:
    return default_policy()


def test_a_long_uncommon_password_passes(policy):
    assert policy.faults("paarse olifant danst op zolder", **USER) == []


@pytest.mark.parametrize("password, fault", [
    ("kort1234567", "must be at least 12 characters"),
    ("x" * 129, "must be at most 128 characters"),
    ("PASSWORD1234", "is one of the most common passwords; choose one that is harder to guess"),
    ("passwordpassword", "is one of the most common passwords; choose one that is harder to guess"),
    ("abcdabcdabcd", "is one of the most common passwords; choose one that is harder to guess"),
    ("mijn-J.Jansen-geheim", "must not contain the username"),
    ("xx jan.jansen@EXAMPLE.org xx", "must not contain the e-mail address"),
    ("JAN.JANSEN is de baas", "must not contain the e-mail address"),
])
def test_each_rule_names_itself(policy, password, fault):
    assert fault in policy.faults(password, **USER)


def test_an_uncommon_phrase_said_twice_is_fine(policy):
    assert policy.faults("zeilboot op zolder zeilboot op zolder", **USER) == []


def test_lengths_12_and_128_are_allowed(policy):
    assert policy.faults("q7#Lm2!zR9@w", **USER) == []
    assert policy.faults("q7#Lm2!zR9@w" * 10 + "abcdefgh", **USER) == []


def test_a_short_local_part_is_no_hint(policy):
    assert policy.faults("ab is lang genoeg hier", username="xyz", email="ab@example.org") == []


def test_several_failures_are_reported_together_on_the_password_field(policy):
    with pytest.raises(InvalidInput) as caught:
        policy.check("j.jansen", **USER)
    assert caught.value.violations == {
        "password": "must be at least 12 characters; must not contain the username"}


def test_the_shipped_list_is_zxcvbn_lower_case():
    common = common_passwords()
    assert len(common) == 30000
    assert {"123456", "password", "qwerty", "dragon"} <= common
    assert all(word == word.lower() for word in common)


def test_argon2id_uses_owasp_parameters_by_default():
    hashed = Argon2Hasher().hash("paarse olifant danst op zolder")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_verify_and_rehash(fast_hasher):
    hashed = fast_hasher.hash("paarse olifant danst op zolder")
    assert fast_hasher.verify(hashed, "paarse olifant danst op zolder")
    assert not fast_hasher.verify(hashed, "paarse olifant danst op zolde")
    assert not fast_hasher.verify(None, "anything at all")
    assert not fast_hasher.verify("not a hash", "anything at all")
    assert not fast_hasher.needs_rehash(hashed)
    assert Argon2Hasher().needs_rehash(hashed)


class _CountingArgon2:
    """Stands in for argon2's PasswordHasher: holds each call a moment and notes the most at once."""

    def __init__(self):
        self._lock, self.running, self.most = threading.Lock(), 0, 0

    def _hold(self):
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self._lock:
            self.running -= 1

    def hash(self, password):
        self._hold()
        return "hashed"

    def verify(self, password_hash, password):
        self._hold()
        return True


def test_no_more_hashes_run_at_once_than_allowed(monkeypatch):
    hasher = Argon2Hasher(memory_kib=8, time_cost=1, max_concurrent=2)
    counting = _CountingArgon2()
    monkeypatch.setattr(hasher, "_hasher", counting)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: hasher.verify("stored", "pw") if i % 2 else hasher.hash("pw"), range(16)))
    assert results == ["hashed", True] * 8
    assert counting.most == 2
