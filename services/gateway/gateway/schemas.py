"""Request and response schemas shared by several routes. Unknown fields are refused."""
from __future__ import annotations

import re
from datetime import date

import marshmallow as ma
from flask import abort, request
from marshmallow import validate

from gateway.problems import problem


class Pattern(validate.Regexp):
    """A rule the document states as a JSON Schema `pattern`, checked as the document's readers
    check it (a search, so the pattern anchors itself). Patterns end in `$(?!\\n)`: Python's `$` also
    matches before a final newline, ECMAScript's does not; the lookahead makes both mean the end."""

    def __call__(self, value):
        if self.regex.search(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


_END = r"$(?!\n)"
# One line of text with something visible in it: the services trim text and refuse control characters.
LINE = Pattern(r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*" + _END,
               error="must be one line of text, not only spaces, without control characters")
OPTIONAL_LINE = Pattern(r"^[^\x00-\x1f\x7f]*" + _END, error="must be one line of text without control characters")
# Free text (passwords, tokens, reasons, search words): anything but NUL, which no database can keep.
NO_NUL = Pattern(r"^[^\x00]*" + _END, error="must not contain a NUL character")
KVK_NUMBER = Pattern(r"^(?!0{8})[0-9]{8}" + _END, error="must be exactly 8 digits, not all zeros")
# 4 digits (the first not 0), an optional space, 2 letters; SA, SD and SS are not used in Dutch postcodes.
POSTCODE = Pattern(r"^[1-9][0-9]{3} ?(?![Ss][AaDdSs])[A-Za-z]{2}" + _END,
                   error="must be a Dutch postcode: 4 digits (the first not 0) and 2 letters, such as 1234 AB")
_PHONE = r"\+?[0-9](?:[ -]?[0-9]){9,14}"
PHONE = Pattern(f"^{_PHONE}{_END}", error="must be a phone number of 10 to 15 digits, optionally starting "
                                          "with +, single spaces or dashes between digits")
OPTIONAL_PHONE = Pattern(f"^(?:{_PHONE})?{_END}", error=PHONE.error)
USERNAME = Pattern(r"^[A-Za-z0-9._@-]{3,64}" + _END,
                   error="must be 3 to 64 letters, digits and . _ - @")
PE_REGISTRATION_NUMBER = Pattern(r"^[A-Za-z0-9./-]{1,32}" + _END,
                                 error="must be 1 to 32 letters, digits and . / -")
NAME = [validate.Length(min=1, max=200), LINE]
PHONE_RULES = [validate.Length(max=30), PHONE]
REASON = [validate.Length(min=1, max=1000), Pattern(r"^[^\x00]*[^\s\x00][^\x00]*" + _END,
                                                    error="must not be empty or only spaces")]
# What identity's password policy demands besides: not a common password, not the username or e-mail.
NEW_PASSWORD = [validate.Length(min=12, max=128), NO_NUL]
LANGUAGE = validate.OneOf(["nl", "en"])
# The consent service's latest end date: the last whose end (the next midnight in Amsterdam) it can hold.
LATEST_END_DATE = date(9999, 12, 30)


class Email(ma.fields.Email):
    def __init__(self, **kwargs):
        super().__init__(validate=validate.Length(max=254), **kwargs)


PAGE_TOKEN = {
    "format": "page-token",
    "description": "next_page_token of the page before, unchanged; empty or left out for the first page. Send "
                   "it with the same filters as that page: the organisations list's tokens hold its filters "
                   "(status, name, city) and are refused with others; a token this list did not hand out is "
                   "refused (400)."}


class PageToken(ma.fields.String):
    """An opaque page token. What makes one valid (handed out by this list) is its format's meaning,
    so the document states no length or pattern of its own; the gateway still refuses early what no
    list hands out."""

    def __init__(self, **kwargs):
        super().__init__(load_default="", metadata=PAGE_TOKEN, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 500 or "\x00" in text:
            raise ma.ValidationError("is not a token this list handed out")
        return text


class PageQuerySchema(ma.Schema):
    page_size = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    page_token = PageToken()


class AddressSchema(ma.Schema):
    street = ma.fields.String(required=True, validate=NAME)
    postcode = ma.fields.String(required=True, validate=POSTCODE, metadata={"example": "1234 AB"})
    city = ma.fields.String(required=True, validate=[validate.Length(min=1, max=100), LINE])


class NewOrganisationSchema(ma.Schema):
    """An organisation as its applicant enters it."""
    name = ma.fields.String(required=True, validate=NAME)
    chamber_of_commerce_number = ma.fields.String(required=True, validate=KVK_NUMBER, metadata={
        "example": "12345678", "description": "The Chamber of Commerce (KvK) number: 8 digits"})
    visiting_address = ma.fields.Nested(AddressSchema, required=True)
    phone = ma.fields.String(required=True, validate=PHONE_RULES, metadata={"example": "030 123 4567"})
    email = Email(required=True)


class AddressOutSchema(ma.Schema):
    street = ma.fields.String(required=True)
    postcode = ma.fields.String(required=True, metadata={"example": "1234 AB"})
    city = ma.fields.String(required=True)


class OrganisationSchema(ma.Schema):
    """An organisation as the operator and its managers see it."""
    organisation_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    chamber_of_commerce_number = ma.fields.String(required=True, metadata={"example": "12345678"})
    visiting_address = ma.fields.Nested(AddressOutSchema, required=True)
    phone = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"enum": ["pending", "authorised", "rejected", "suspended"]})
    create_time = ma.fields.String(allow_none=True)
    update_time = ma.fields.String(allow_none=True)


class PublicOrganisationSchema(ma.Schema):
    """What professionals see of an authorised organisation."""
    organisation_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    city = ma.fields.String(required=True)


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
    reason = ma.fields.String(load_default="", validate=[validate.Length(max=1000), NO_NUL])


# Printable ASCII without spaces: a key is compared byte for byte and kept by the services.
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[!-~]{1,200}$(?!\n)")
IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "description": "Makes a retry safe: a repeat with the same key answers with what the first request "
                   "created, and creates nothing more.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": IDEMPOTENCY_KEY_PATTERN.pattern}}


def idempotency_key() -> str:
    """The Idempotency-Key header, if sent; a malformed one is refused (400)."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return ""
    if not IDEMPOTENCY_KEY_PATTERN.search(key):
        abort(problem(400, "Idempotency-Key must be 1 to 200 printable ASCII characters without spaces",
                      slug="validation-error", errors=[{"field": "Idempotency-Key",
                                                        "message": "must be 1 to 200 printable ASCII characters"}]))
    return key
