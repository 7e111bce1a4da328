"""Protobuf messages to the API's JSON shapes: snake_case, enums as lower-case words, RFC 3339 times."""
from __future__ import annotations

from datetime import date, timezone

from pe.common.v1 import common_pb2
from pe.identity.v1 import identity_pb2
from pe.organisation.v1 import organisation_pb2


def enum_word(enum_type, value: int) -> str:
    """ORGANISATION_STATUS_PENDING -> 'pending'."""
    name = enum_type.Name(value)
    prefix = enum_type.DESCRIPTOR.values[0].name.removesuffix("UNSPECIFIED")
    return name.removeprefix(prefix).lower()


def enum_value(enum_type, word: str) -> int:
    prefix = enum_type.DESCRIPTOR.values[0].name.removesuffix("UNSPECIFIED")
    return enum_type.Value(prefix + word.upper())


def timestamp(stamp) -> str | None:
    if stamp is None or (stamp.seconds == 0 and stamp.nanos == 0):
        return None
    return stamp.ToDatetime(tzinfo=timezone.utc).isoformat()


def calendar_date(value: common_pb2.Date) -> str | None:
    if value is None or value.year == 0:
        return None
    return date(value.year, value.month, value.day).isoformat()


def to_date(text: str | None) -> common_pb2.Date | None:
    if not text:
        return None
    parsed = date.fromisoformat(text) if isinstance(text, str) else text
    return common_pb2.Date(year=parsed.year, month=parsed.month, day=parsed.day)


def language(value: int) -> str:
    return "en" if value == common_pb2.LANGUAGE_EN else "nl"


def language_value(word: str | None) -> int:
    return common_pb2.LANGUAGE_EN if word == "en" else common_pb2.LANGUAGE_NL


def account(message: identity_pb2.Account) -> dict:
    return {
        "account_id": message.account_id, "username": message.username, "email": message.email,
        "display_name": message.display_name, "kind": enum_word(identity_pb2.AccountKind, message.kind),
        "status": enum_word(identity_pb2.AccountStatus, message.status), "language": language(message.language),
        "pe_registration_number": message.pe_registration_number or None,
        "create_time": timestamp(message.create_time),
    }


def organisation(message: organisation_pb2.Organisation) -> dict:
    address = message.visiting_address
    return {
        "organisation_id": message.organisation_id, "name": message.name,
        "chamber_of_commerce_number": message.chamber_of_commerce_number,
        "visiting_address": {"street": address.street, "postcode": address.postcode, "city": address.city},
        "phone": message.phone, "email": message.email,
        "status": enum_word(organisation_pb2.OrganisationStatus, message.status),
        "create_time": timestamp(message.create_time), "update_time": timestamp(message.update_time),
    }


def public_organisation(message: organisation_pb2.Organisation) -> dict:
    """What a professional may see of an authorised organisation."""
    return {"organisation_id": message.organisation_id, "name": message.name,
            "city": message.visiting_address.city}


def contact(message: organisation_pb2.Contact) -> dict:
    return {
        "contact_id": message.contact_id, "organisation_id": message.organisation_id,
        "account_id": message.account_id, "role": enum_word(organisation_pb2.ContactRole, message.role),
        "name": message.name, "email": message.email, "phone": message.phone,
        "department_name": message.department_name or None,
        "create_time": timestamp(message.create_time), "update_time": timestamp(message.update_time),
    }


def public_contact(message: organisation_pb2.Contact) -> dict:
    """What a professional may see of a contact: names and roles, nothing more."""
    return {"contact_id": message.contact_id, "name": message.name,
            "role": enum_word(organisation_pb2.ContactRole, message.role),
            "department_name": message.department_name or None}


def transition(message: organisation_pb2.OrganisationTransition) -> dict:
    status = organisation_pb2.OrganisationStatus
    return {
        "from_status": enum_word(status, message.from_status) if message.from_status else None,
        "to_status": enum_word(status, message.to_status), "actor_account_id": message.actor_account_id or None,
        "reason": message.reason or None, "occur_time": timestamp(message.occur_time),
    }
