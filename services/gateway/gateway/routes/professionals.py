"""/api/v1/professionals: the operator creates professional accounts, one or many from a CSV file.

In the real world these come from the PE registry; each professional gets a password-setup mail.
"""
from __future__ import annotations

import csv
import io
import re

import marshmallow as ma
from flask import abort, current_app, request
from flask.views import MethodView
from marshmallow import validate

from gateway import convert
from gateway.api import Blueprint
from gateway.auth import authenticated
from gateway.permissions import OPERATOR, require_kind
from gateway.problems import problem
from gateway.schemas import (IDEMPOTENCY_KEY, LANGUAGE, NAME, PE_REGISTRATION_NUMBER, USERNAME, AccountSchema, Email,
                             idempotency_key)
from pe.identity.v1 import identity_pb2

blueprint = Blueprint("professionals", __name__, url_prefix="/api/v1/professionals",
                      description="Professional accounts, created by the operator.")
BEARER = [{"bearerAuth": []}]
CSV_COLUMNS = ("username", "email", "display_name", "pe_registration_number", "language")
MAX_IMPORT_ROWS = 5000
MAX_IMPORT_BYTES = 2 * 1024 * 1024
CSV_HEADER = ",".join(CSV_COLUMNS)
# The header line, exactly (language may be left out); a byte-order mark before it is allowed.
CSV_PATTERN = re.compile(r"^\ufeff?username,email,display_name,pe_registration_number(?:,language)?(?:\r?\n|$(?!\n))")
IMPORT_DESCRIPTION = (
    f"UTF-8 CSV (a byte-order mark is allowed) whose first line is the header {CSV_HEADER} (language, nl "
    f"by default or en, may be left out). Each row follows the rules of a single professional "
    f"(createProfessional). At most "
    f"{MAX_IMPORT_ROWS} rows and {MAX_IMPORT_BYTES} bytes (413 beyond); each row is created or rejected on "
    f"its own, the rejected ones listed with their line number.")


class NewProfessionalSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=USERNAME)
    email = Email(required=True)
    display_name = ma.fields.String(required=True, validate=NAME)
    pe_registration_number = ma.fields.String(required=True, validate=PE_REGISTRATION_NUMBER,
                                               metadata={"example": "PE-2024/0012"})
    language = ma.fields.String(load_default="nl", validate=LANGUAGE)


class RowErrorSchema(ma.Schema):
    line = ma.fields.Integer()
    message = ma.fields.String()


class ImportResultSchema(ma.Schema):
    created = ma.fields.List(ma.fields.Nested(AccountSchema))
    rejected = ma.fields.List(ma.fields.Nested(RowErrorSchema))


def _new_account(row: dict) -> identity_pb2.NewAccount:
    return identity_pb2.NewAccount(
        username=row["username"], email=row["email"], display_name=row["display_name"],
        kind=identity_pb2.ACCOUNT_KIND_PROFESSIONAL, language=convert.language_value(row.get("language")),
        pe_registration_number=row["pe_registration_number"],
        link_purpose=identity_pb2.LINK_PURPOSE_PROFESSIONAL_WELCOME)


@blueprint.route("")
class Professionals(MethodView):
    @authenticated
    @blueprint.doc(operationId="createProfessional", security=BEARER, parameters=[IDEMPOTENCY_KEY])
    @blueprint.arguments(NewProfessionalSchema)
    @blueprint.response(201, AccountSchema)
    @blueprint.alt_response(409, description="Username or PE registration number already in use")
    def post(self, form):
        """Operator: create one professional account; the professional gets a password-setup mail."""
        require_kind(OPERATOR)
        reply = current_app.extensions["pe.backends"].call("identity", "CreateAccount", identity_pb2.CreateAccountRequest(
            account=_new_account(form), idempotency_key=idempotency_key()))
        return convert.account(reply.account)


def parse_csv(text: str) -> tuple[list[tuple[int, dict]], list[dict]]:
    """Rows checked one by one: good ones with their line number, and the reasons bad ones fail."""
    if not CSV_PATTERN.search(text):
        abort(problem(400, f"the file's first line must be the header {CSV_HEADER}, language optional",
                      slug="validation-error", errors=[{"field": "body", "message": f"must start with {CSV_HEADER}"}]))
    reader = csv.DictReader(io.StringIO(text))
    schema, good, bad = NewProfessionalSchema(), [], []
    for row in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k in CSV_COLUMNS}
        values["language"] = values.get("language") or "nl"
        errors = schema.validate(values)
        if errors:
            bad.append({"line": line, "message": "; ".join(f"{field}: {' '.join(msgs)}"
                                                          for field, msgs in sorted(errors.items()))})
        else:
            good.append((line, values))
        if len(good) + len(bad) > MAX_IMPORT_ROWS:
            abort(413, description=f"at most {MAX_IMPORT_ROWS} rows per import")
    return good, bad


@blueprint.route("/imports")
class ProfessionalImports(MethodView):
    @authenticated
    @blueprint.doc(operationId="importProfessionals", security=BEARER, requestBody={
        "required": True, "description": IMPORT_DESCRIPTION, "content": {"text/csv": {"schema": {
            "type": "string", "maxLength": MAX_IMPORT_BYTES, "pattern": CSV_PATTERN.pattern,
            "example": "username,email,display_name,pe_registration_number,language\n"
                       "jan.jansen,jan@example.nl,Jan Jansen,PE-2024/0012,nl\n"}}}})
    @blueprint.response(200, ImportResultSchema)
    def post(self):
        """Operator: create professional accounts from a CSV file; each row succeeds or fails alone."""
        require_kind(OPERATOR)
        if request.mimetype != "text/csv":
            abort(415, description="send the file as text/csv")
        request.max_content_length = MAX_IMPORT_BYTES  # a file is larger than a JSON body
        try:
            text = request.get_data().decode("utf-8-sig")
        except UnicodeDecodeError:
            abort(400, description="the file is not UTF-8 text")
        good, rejected = parse_csv(text)
        created = []
        if good:
            reply = current_app.extensions["pe.backends"].call(
                "identity", "BatchCreateAccounts",
                identity_pb2.BatchCreateAccountsRequest(accounts=[_new_account(row) for _, row in good]),
                timeout=120)
            for result in reply.results:
                line = good[result.index][0]
                if result.error:
                    rejected.append({"line": line, "message": result.error})
                else:
                    created.append(convert.account(result.account))
        return {"created": created, "rejected": sorted(rejected, key=lambda r: r["line"])}
