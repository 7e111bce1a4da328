"""The rules on their own: field validation with its messages, status transitions, contact roles."""
from datetime import datetime, timezone

import pytest

from organisation import domain
from organisation.domain import (Address, Contact, ContactRole, InvalidInput, Language, Organisation,
                                 OrganisationDetails, OrganisationStatus, RuleViolated, Violations)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
VALID = dict(name="De Brug", chamber_of_commerce_number="12345678", street="Stationsplein 12",
             postcode="3511 ED", city="Utrecht", phone="030-1234567", email="info@debrug.nl")


def _organisation_violations(**overrides) -> dict[str, str]:
    violations = Violations()
    domain.organisation_details(**{**VALID, **overrides}, violations=violations)
    return violations.items


def _details(**overrides) -> OrganisationDetails:
    violations = Violations()
    details = domain.organisation_details(**{**VALID, **overrides}, violations=violations)
    violations.check()
    return details


def test_a_complete_form_is_valid_and_normalised():
    details = _details(postcode=" 3511ed ", name="  De Brug  ")
    assert details.visiting_address == Address("Stationsplein 12", "3511 ED", "Utrecht")
    assert details.name == "De Brug"


def test_an_empty_form_names_every_field():
    violations = _organisation_violations(**{key: "" for key in VALID})
    assert violations == {
        "organisation.name": "is required",
        "organisation.chamber_of_commerce_number": "is required",
        "organisation.visiting_address.street": "is required",
        "organisation.visiting_address.postcode": "is required",
        "organisation.visiting_address.city": "is required",
        "organisation.phone": "is required",
        "organisation.email": "is required",
    }


@pytest.mark.parametrize("number, message", [
    ("1234567", "must be exactly 8 digits"),
    ("123456789", "must be exactly 8 digits"),
    ("1234567a", "must be exactly 8 digits"),
    ("1234 5678", "must be exactly 8 digits"),
    ("١٢٣٤٥٦٧٨", "must be exactly 8 digits"),
    ("1" * 300, "must be exactly 8 digits"),
    ("00000000", "must not be all zeros"),
])
def test_kvk_number_is_exactly_eight_digits_not_all_zeros(number, message):
    assert _organisation_violations(chamber_of_commerce_number=number) == {
        "organisation.chamber_of_commerce_number": message}


@pytest.mark.parametrize("number", ["12345678", "00000001", " 90000000 "])
def test_kvk_numbers_that_pass(number):
    assert _details(chamber_of_commerce_number=number).chamber_of_commerce_number == number.strip()


@pytest.mark.parametrize("postcode, stored", [
    ("1234 AB", "1234 AB"), ("1234AB", "1234 AB"), ("1234ab", "1234 AB"), ("9999 zz", "9999 ZZ"),
    ("1000 SB", "1000 SB"),
])
def test_postcodes_are_stored_as_four_digits_space_two_capitals(postcode, stored):
    assert _details(postcode=postcode).visiting_address.postcode == stored


@pytest.mark.parametrize("postcode, fragment", [
    ("0123 AB", "4 digits (the first not 0)"),
    ("123 AB", "4 digits"),
    ("12345 AB", "4 digits"),
    ("1234 A", "2 letters"),
    ("1234  AB", "2 letters"),
    ("1234-AB", "2 letters"),
    ("1234 SA", "must not end in SA"),
    ("1234sd", "must not end in SD"),
    ("1234 ss", "must not end in SS"),
])
def test_bad_postcodes(postcode, fragment):
    violations = _organisation_violations(postcode=postcode)
    assert list(violations) == ["organisation.visiting_address.postcode"]
    assert fragment in violations["organisation.visiting_address.postcode"]


@pytest.mark.parametrize("phone", ["0301234567", "030-123 4567", "+31 30 123 4567", "+31-6-12345678",
                                   "06 12 34 56 78", "+441234567890123"])
def test_phone_numbers_that_pass(phone):
    assert _details(phone=phone).phone == phone


@pytest.mark.parametrize("phone", ["123456789", "+4412345678901234", "030 12a4567", "(030) 1234567",
                                   "030.1234567", "++31301234567", "-0301234567", "0301234567-"])
def test_phone_numbers_that_fail(phone):
    violations = _organisation_violations(phone=phone)
    assert violations == {"organisation.phone": "must be a phone number of 10 to 15 digits, optionally "
                                                "starting with +, with spaces or dashes allowed"}


@pytest.mark.parametrize("email", ["no-at-sign", "two@@example.nl", "a@b", "a b@example.nl", "a@example.", "@x.nl"])
def test_bad_email_addresses(email):
    assert _organisation_violations(email=email) == {
        "organisation.email": "must be an e-mail address such as name@example.nl"}


@pytest.mark.parametrize("field, limit", [("name", 200), ("street", 200), ("city", 100), ("email", 254),
                                          ("phone", 32)])
def test_over_long_strings_are_refused(field, limit):
    value = "x" * (limit + 1)
    violations = _organisation_violations(**{field: value})
    name = {"street": "visiting_address.street", "city": "visiting_address.city"}.get(field, field)
    assert violations == {f"organisation.{name}": f"must be at most {limit} characters"}


def test_control_characters_are_refused_in_one_line_fields():
    assert _organisation_violations(name="De Brug\r\nBcc: x@example.nl") == {
        "organisation.name": "must be a single line without control characters"}


def _contact_violations(role=ContactRole.CONTACT, prefix="", **overrides) -> dict[str, str]:
    values = dict(name="Bram", email="bram@debrug.nl", phone="", department_name="", username="bram",
                  language=Language.NL)
    violations = Violations()
    domain.contact_details(role=role, **{**values, **overrides}, violations=violations, prefix=prefix)
    return violations.items


@pytest.mark.parametrize("username, message", [
    ("", "is required"), ("ab", "must be at least 3 characters"), ("a" * 65, "must be at most 64 characters"),
    ("anna de vries", "may hold only letters, digits and . _ - @"),
    ("anna!", "may hold only letters, digits and . _ - @"),
])
def test_usernames(username, message):
    assert _contact_violations(username=username, prefix="applicant.") == {"applicant.username": message}


def test_a_department_needs_its_name_and_only_a_department_has_one():
    assert _contact_violations(role=ContactRole.DEPARTMENT) == {"department_name": "is required"}
    assert _contact_violations(role=ContactRole.CONTACT, department_name="HR") == {
        "department_name": "is only for a department"}
    assert _contact_violations(role=ContactRole.DEPARTMENT, department_name="HR") == {}


def test_phone_is_optional_for_a_contact_but_checked_when_given():
    assert _contact_violations(phone="") == {}
    assert "phone" in _contact_violations(phone="12")


@pytest.mark.parametrize("role, message", [
    (None, "is required: second contact, contact or department"),
    (ContactRole.ADMINISTRATOR, "an administrator cannot be added: it is the one who registered the organisation"),
])
def test_addable_roles(role, message):
    violations = Violations()
    assert domain.addable_role(role, violations) is None
    assert violations.items == {"role": message}


def _organisation(status: OrganisationStatus) -> Organisation:
    return Organisation("o-1", _details(), status, NOW, NOW)


ALLOWED = {
    (OrganisationStatus.PENDING, OrganisationStatus.AUTHORISED),
    (OrganisationStatus.SUSPENDED, OrganisationStatus.AUTHORISED),
    (OrganisationStatus.PENDING, OrganisationStatus.REJECTED),
    (OrganisationStatus.AUTHORISED, OrganisationStatus.SUSPENDED),
}


@pytest.mark.parametrize("from_status", list(OrganisationStatus))
@pytest.mark.parametrize("to_status", [OrganisationStatus.AUTHORISED, OrganisationStatus.REJECTED,
                                       OrganisationStatus.SUSPENDED])
def test_transitions(from_status, to_status):
    organisation = _organisation(from_status)
    if (from_status, to_status) in ALLOWED:
        changed, transition, event = domain.change_status(organisation, to_status, actor_account_id="op-1",
                                                          reason="checked", now=NOW)
        assert changed.status is to_status and changed.updated_at == NOW
        assert (transition.from_status, transition.to_status, transition.actor_account_id, transition.reason,
                transition.occurred_at) == (from_status, to_status, "op-1", "checked", NOW)
        assert type(event).__name__ == {"authorised": "OrganisationAuthorised", "rejected": "OrganisationRejected",
                                        "suspended": "OrganisationSuspended"}[to_status.value]
    else:
        with pytest.raises(RuleViolated) as refused:
            domain.change_status(organisation, to_status, actor_account_id="op-1", reason="x", now=NOW)
        assert refused.value.reason == "INVALID_TRANSITION"


def _contact(role: ContactRole, department_name: str = "") -> Contact:
    return Contact("c-1", "o-1", "a-1", role, "Bram", "bram@debrug.nl", "", department_name, Language.NL, NOW, NOW)


def test_the_administrator_keeps_its_role_and_nobody_becomes_one():
    with pytest.raises(RuleViolated) as fixed:
        domain.change_contact(_contact(ContactRole.ADMINISTRATOR), {"role": ContactRole.CONTACT}, NOW)
    assert fixed.value.reason == "ADMINISTRATOR_ROLE_FIXED"
    with pytest.raises(InvalidInput) as refused:
        domain.change_contact(_contact(ContactRole.CONTACT), {"role": ContactRole.ADMINISTRATOR}, NOW)
    assert list(refused.value.violations) == ["contact.role"]
    same = domain.change_contact(_contact(ContactRole.ADMINISTRATOR),
                                 {"role": ContactRole.ADMINISTRATOR, "name": "Anna"}, NOW)
    assert (same.role, same.name) == (ContactRole.ADMINISTRATOR, "Anna")


def test_department_name_follows_the_role():
    left = domain.change_contact(_contact(ContactRole.DEPARTMENT, "HR"), {"role": ContactRole.CONTACT}, NOW)
    assert left.department_name == ""
    with pytest.raises(InvalidInput) as missing:
        domain.change_contact(_contact(ContactRole.CONTACT), {"role": ContactRole.DEPARTMENT}, NOW)
    assert missing.value.violations == {"contact.department_name": "is required for a department"}
    became = domain.change_contact(_contact(ContactRole.CONTACT),
                                   {"role": ContactRole.DEPARTMENT, "department_name": "L&D"}, NOW)
    assert became.department_name == "L&D"


def test_the_administrator_is_not_removable():
    with pytest.raises(RuleViolated) as refused:
        domain.ensure_removable(_contact(ContactRole.ADMINISTRATOR))
    assert refused.value.reason == "ADMINISTRATOR_NOT_REMOVABLE"
    domain.ensure_removable(_contact(ContactRole.SECOND_CONTACT))


@pytest.mark.parametrize("value, expected", [
    ("7b0c3f62-0a43-4a55-9a0b-3b9e0e5f2c11", "7b0c3f62-0a43-4a55-9a0b-3b9e0e5f2c11"),
    ("7B0C3F62-0A43-4A55-9A0B-3B9E0E5F2C11", "7b0c3f62-0a43-4a55-9a0b-3b9e0e5f2c11"),
    ("not-a-uuid", None), ("", None), ("' OR 1=1 --", None),
])
def test_ids(value, expected):
    assert domain.canonical_id(value) == expected
