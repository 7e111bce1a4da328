"""/api/v1/organisations/{id}/contacts: the administrator's and second contact's people."""
from __future__ import annotations

import grpc
import marshmallow as ma
from flask import abort
from flask.views import MethodView
from marshmallow import validate

from gateway import convert
from gateway.api import Blueprint
from gateway.auth import authenticated
from gateway.permissions import (PROFESSIONAL, is_visible_to_professionals, principal, require_manager,
                                 require_manager_or_operator)
from gateway.problems import problem
from gateway.routes.organisations import call, fetch
from gateway.schemas import (IDEMPOTENCY_KEY, LANGUAGE, LINE, NAME, OPTIONAL_LINE, OPTIONAL_PHONE, PHONE_RULES,
                             USERNAME, ContactSchema, Email, PageQuerySchema, idempotency_key)
from pe.organisation.v1 import organisation_pb2
from svckit.rpc_errors import field_violations

blueprint = Blueprint("contacts", __name__, url_prefix="/api/v1/organisations/<uuid:organisation_id>/contacts",
                      description="Second contact, contacts and departments of an organisation.")
BEARER = [{"bearerAuth": []}]
ADDABLE_ROLES = ["second_contact", "contact", "department"]


class _NewContactFields(ma.Schema):
    name = ma.fields.String(required=True, validate=NAME)
    email = Email(required=True)
    phone = ma.fields.String(validate=[validate.Length(max=30), OPTIONAL_PHONE])
    username = ma.fields.String(required=True, validate=USERNAME)
    language = ma.fields.String(validate=LANGUAGE, metadata={"default": "nl"})


class NewPersonSchema(_NewContactFields):
    """A second contact or a contact: a person, without a department name."""
    role = ma.fields.String(required=True, validate=validate.OneOf(["second_contact", "contact"]))


class NewDepartmentSchema(_NewContactFields):
    """A department on a general mailbox, such as HR."""
    role = ma.fields.String(required=True, validate=validate.OneOf(["department"]))
    department_name = ma.fields.String(required=True, validate=[validate.Length(min=1, max=100), LINE],
                                       metadata={"example": "HR"})


class NewContactSchema(ma.Schema):
    """What the document states as one of NewPerson or NewDepartment, read in one pass so that every
    field at fault is named at once."""
    role = ma.fields.String(required=True, validate=validate.OneOf(ADDABLE_ROLES))
    name = ma.fields.String(required=True, validate=NAME)
    email = Email(required=True)
    phone = ma.fields.String(load_default="", validate=[validate.Length(max=30), OPTIONAL_PHONE])
    department_name = ma.fields.String(validate=[validate.Length(min=1, max=100), LINE])
    username = ma.fields.String(required=True, validate=USERNAME)
    language = ma.fields.String(load_default="nl", validate=LANGUAGE)

    @ma.validates_schema
    def _department_name_for_a_department_only(self, data, **_kwargs):
        if data.get("role") == "department" and "department_name" not in data:
            raise ma.ValidationError("is required for a department", "department_name")
        if data.get("role") in ("second_contact", "contact") and "department_name" in data:
            raise ma.ValidationError("is only for a department", "department_name")


NEW_CONTACT_BODY = {"required": True, "content": {"application/json": {"schema": {"oneOf": [
    NewPersonSchema, NewDepartmentSchema]}}}}


class ContactUpdateSchema(ma.Schema):
    role = ma.fields.String(validate=validate.OneOf(ADDABLE_ROLES))
    name = ma.fields.String(validate=NAME)
    email = Email()
    phone = ma.fields.String(validate=PHONE_RULES)
    department_name = ma.fields.String(validate=[validate.Length(max=100), LINE])


class ContactPageSchema(ma.Schema):
    contacts = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "Full contacts for managers and the operator; names and roles for professionals"})
    next_page_token = ma.fields.String()


def _role(word: str) -> int:
    return convert.enum_value(organisation_pb2.ContactRole, word)


def _contact_of(organisation_id: str, contact_id: str) -> organisation_pb2.Contact:
    contact = call("GetContact", organisation_pb2.GetContactRequest(contact_id=contact_id)).contact
    if contact.organisation_id != organisation_id:
        abort(404, description="no such contact")
    return contact


def _refuse_as_conflict_with_role(error: grpc.RpcError):
    """A department name is only for a department, and a department needs one: which holds after a
    change depends on the role the contact has, so a change that breaks it conflicts with the
    contact's state (409, naming the field) rather than being malformed in itself."""
    faults = field_violations(error) if error.code() == grpc.StatusCode.INVALID_ARGUMENT else {}
    if "department_name" not in faults:
        raise error
    abort(problem(409, "the change does not fit the contact's role", slug="department-name-and-role",
                  errors=[{"field": "department_name", "message": faults["department_name"]}]))


@blueprint.route("")
class Contacts(MethodView):
    @authenticated
    @blueprint.doc(operationId="listContacts", security=BEARER)
    @blueprint.arguments(PageQuerySchema, location="query")
    @blueprint.response(200, ContactPageSchema)
    def get(self, query, organisation_id):
        """Managers and operator: every contact. Professionals: names and roles, to choose whom to grant."""
        organisation_id = str(organisation_id)
        public = principal().kind == PROFESSIONAL
        if public:
            if not is_visible_to_professionals(fetch(organisation_id)):
                abort(404, description="no such organisation")
        else:
            require_manager_or_operator(organisation_id)
        reply = call("ListContacts", organisation_pb2.ListContactsRequest(
            organisation_id=organisation_id, page_size=query["page_size"], page_token=query["page_token"]))
        shape = convert.public_contact if public else convert.contact
        return {"contacts": [shape(c) for c in reply.contacts], "next_page_token": reply.next_page_token}

    @authenticated
    @blueprint.doc(operationId="createContact", security=BEARER, parameters=[IDEMPOTENCY_KEY],
                   requestBody=NEW_CONTACT_BODY)
    @blueprint.arguments(NewContactSchema)
    @blueprint.response(201, ContactSchema)
    @blueprint.alt_response(409, description="A second contact exists already, or the username is taken")
    def post(self, form, organisation_id):
        """Administrator and second contact: add a contact; it gets its own password-setup mail."""
        organisation_id = str(organisation_id)
        require_manager(organisation_id)
        reply = call("AddContact", organisation_pb2.AddContactRequest(
            organisation_id=organisation_id, role=_role(form["role"]), name=form["name"], email=form["email"],
            phone=form["phone"], department_name=form.get("department_name", ""), username=form["username"],
            language=convert.language_value(form["language"]), actor_account_id=principal().account_id,
            idempotency_key=idempotency_key()))
        return convert.contact(reply.contact)


@blueprint.route("/<uuid:contact_id>")
class ContactResource(MethodView):
    @authenticated
    @blueprint.doc(operationId="getContact", security=BEARER)
    @blueprint.response(200, ContactSchema)
    def get(self, organisation_id, contact_id):
        """Managers and operator: one contact."""
        require_manager_or_operator(str(organisation_id))
        return convert.contact(_contact_of(str(organisation_id), str(contact_id)))

    @authenticated
    @blueprint.doc(operationId="updateContact", security=BEARER)
    @blueprint.arguments(ContactUpdateSchema)
    @blueprint.response(200, ContactSchema)
    @blueprint.alt_response(409, description="A department name without the role department, or that role "
                                             "without a department name")
    def patch(self, changes, organisation_id, contact_id):
        """Administrator and second contact: change a contact's role, name, e-mail, phone or department (the
        fields sent; an empty body changes nothing)."""
        require_manager(str(organisation_id))
        current = _contact_of(str(organisation_id), str(contact_id))
        if not changes:  # as a merge patch: nothing to change, the contact as it is
            return convert.contact(current)
        contact = organisation_pb2.Contact(
            contact_id=str(contact_id), organisation_id=str(organisation_id),
            role=_role(changes["role"]) if "role" in changes else 0, name=changes.get("name", ""),
            email=changes.get("email", ""), phone=changes.get("phone", ""),
            department_name=changes.get("department_name", ""))
        try:
            reply = call("UpdateContact", organisation_pb2.UpdateContactRequest(
                contact=contact, update_mask=sorted(changes), actor_account_id=principal().account_id))
        except grpc.RpcError as error:
            _refuse_as_conflict_with_role(error)
        return convert.contact(reply.contact)

    @authenticated
    @blueprint.doc(operationId="deleteContact", security=BEARER)
    @blueprint.response(204)
    @blueprint.alt_response(409, description="The administrator cannot be removed")
    def delete(self, organisation_id, contact_id):
        """Administrator and second contact: remove a contact; the consents given to it end."""
        require_manager(str(organisation_id))
        _contact_of(str(organisation_id), str(contact_id))
        call("RemoveContact", organisation_pb2.RemoveContactRequest(
            contact_id=str(contact_id), actor_account_id=principal().account_id))
