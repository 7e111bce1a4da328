"""Request and response schemas shared by several routes. Unknown fields are refused."""
from __future__ import annotations

from datetime import date

import marshmallow as ma
from marshmallow import validate

NAME = validate.Length(min=1, max=200)
PHONE = validate.Length(min=1, max=30)
USERNAME = validate.Length(min=3, max=64)
REASON = validate.Length(min=1, max=1000)
LANGUAGE = validate.OneOf(["nl", "en"])
# The consent service's latest end date: the last whose end (the next midnight in Amsterdam) it can hold.
LATEST_END_DATE = date(9999, 12, 30)


class Email(ma.fields.Email):
    def __init__(self, **kwargs):
        super().__init__(validate=validate.Length(max=254), **kwargs)


class PageQuerySchema(ma.Schema):
    page_size = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    page_token = ma.fields.String(load_default="", validate=validate.Length(max=500))


class AddressSchema(ma.Schema):
    street = ma.fields.String(required=True, validate=NAME)
    postcode = ma.fields.String(required=True, validate=validate.Length(min=1, max=10),
                                metadata={"example": "1234 AB"})
    city = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))


class OrganisationSchema(ma.Schema):
    organisation_id = ma.fields.String(dump_only=True)
    name = ma.fields.String(required=True, validate=NAME)
    chamber_of_commerce_number = ma.fields.String(required=True, validate=validate.Length(min=1, max=20),
                                                  metadata={"example": "12345678"})
    visiting_address = ma.fields.Nested(AddressSchema, required=True)
    phone = ma.fields.String(required=True, validate=PHONE)
    email = Email(required=True)
    status = ma.fields.String(dump_only=True, metadata={"enum": ["pending", "authorised", "rejected", "suspended"]})
    city = ma.fields.String(dump_only=True, metadata={
        "description": "Professionals see organisation_id, name and city only"})
    create_time = ma.fields.String(dump_only=True, allow_none=True)
    update_time = ma.fields.String(dump_only=True, allow_none=True)


class PublicOrganisationSchema(ma.Schema):
    organisation_id = ma.fields.String()
    name = ma.fields.String()
    city = ma.fields.String()


class ContactSchema(ma.Schema):
    contact_id = ma.fields.String()
    organisation_id = ma.fields.String()
    account_id = ma.fields.String()
    role = ma.fields.String(metadata={"enum": ["administrator", "second_contact", "contact", "department"]})
    name = ma.fields.String()
    email = ma.fields.String()
    phone = ma.fields.String()
    department_name = ma.fields.String(allow_none=True)
    create_time = ma.fields.String(allow_none=True)
    update_time = ma.fields.String(allow_none=True)


class PublicContactSchema(ma.Schema):
    contact_id = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    department_name = ma.fields.String(allow_none=True)


class AccountSchema(ma.Schema):
    account_id = ma.fields.String()
    username = ma.fields.String()
    email = ma.fields.String()
    display_name = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": ["employer_contact", "professional", "operator"]})
    status = ma.fields.String(metadata={"enum": ["awaiting_password", "active", "locked", "disabled"]})
    language = ma.fields.String()
    pe_registration_number = ma.fields.String(allow_none=True)
    create_time = ma.fields.String(allow_none=True)


class ReasonSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=REASON)


class OptionalReasonSchema(ma.Schema):
    reason = ma.fields.String(load_default="", validate=validate.Length(max=1000))


def idempotency_key() -> str:
    """The Idempotency-Key header, if sent (at most 200 characters)."""
    from flask import abort, request
    key = request.headers.get("Idempotency-Key", "")
    if len(key) > 200:
        abort(400, description="Idempotency-Key is longer than 200 characters")
    return key
