"""Account rules: what a new account must look like, and the status it shows."""
from datetime import datetime, timezone

import pytest

from identity.domain import (Account, AccountKind, AccountStatus, Language, NewAccount, is_uuid,
                             validate_new_account)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def new(**changes) -> NewAccount:
    values = dict(username="j.jansen", email="jan@example.org", display_name="Jan Jansen",
                  kind=AccountKind.EMPLOYER_CONTACT)
    values.update(changes)
    return NewAccount(**values)


def test_a_complete_account_has_no_faults_and_defaults_to_dutch():
    cleaned, faults = validate_new_account(new(username="  J.Jansen@hr ", display_name=" Jan   Jansen "))
    assert faults == {}
    assert cleaned.username == "J.Jansen@hr"
    assert cleaned.display_name == "Jan Jansen"
    assert cleaned.language is Language.NL


@pytest.mark.parametrize("username", ["ab", "x" * 65, "jan jansen", "jan/jansen", "jän", ""])
def test_username_must_be_3_to_64_plain_characters(username):
    _, faults = validate_new_account(new(username=username))
    assert set(faults) == {"username"}


@pytest.mark.parametrize("username", ["abc", "x" * 64, "a.b_c-d@e", "ABC123"])
def test_usernames_that_are_fine(username):
    assert validate_new_account(new(username=username))[1] == {}


def test_every_bad_field_is_named_at_once():
    _, faults = validate_new_account(NewAccount(username="", email="nope", display_name=" ", kind=None))
    assert set(faults) == {"username", "email", "display_name", "kind"}
    assert faults["email"] == "must be an e-mail address such as name@example.org"


def test_a_professional_needs_a_registration_number_and_others_may_not_have_one():
    _, faults = validate_new_account(new(kind=AccountKind.PROFESSIONAL))
    assert faults == {"pe_registration_number": "is required for a professional"}
    assert validate_new_account(new(kind=AccountKind.PROFESSIONAL, pe_registration_number="123456"))[1] == {}
    _, faults = validate_new_account(new(pe_registration_number="123456"))
    assert faults == {"pe_registration_number": "only professionals have a PE registration number"}


def test_unknown_enum_values_and_oversized_mail_context_are_faults():
    _, faults = validate_new_account(new(unknown=("language",), mail_context={"organisation_name": "x" * 301}))
    assert set(faults) == {"language", "mail_context"}


def account(**changes) -> Account:
    values = dict(account_id="a", username="j", email="j@example.org", display_name="J",
                  kind=AccountKind.PROFESSIONAL, status=AccountStatus.ACTIVE, language=Language.NL,
                  pe_registration_number="1", created_at=NOW, updated_at=NOW)
    values.update(changes)
    return Account(**values)


def test_only_an_active_account_with_a_password_may_log_in():
    assert account(password_hash="h").may_log_in
    assert not account(password_hash=None).may_log_in
    assert not account(password_hash="h", status=AccountStatus.DISABLED).may_log_in
    assert not account(password_hash="h", status=AccountStatus.AWAITING_PASSWORD).may_log_in


def test_only_canonical_uuids_are_account_ids():
    assert is_uuid("0b7e1a4e-6c1f-4f0e-9d7e-0a4b2c9d8e7f")
    assert not is_uuid("x")
    assert not is_uuid("0b7e1a4e6c1f4f0e9d7e0a4b2c9d8e7f")
