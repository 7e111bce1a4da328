"""/api/v1/organisations/{id}/contacts: the administrator's and second contact's people."""
from __future__ import annotations

import marshmallow as ma
from flask import abort
from flask.views import MethodView
from marshmallow import validate

from gateway import convert
from gateway.api import Blueprint
from gateway.auth import authenticated
from gateway.permissions import (PROFESSIONAL, is_visible_to_professionals, principal, require_manager,
                                 require_manager_or_operator)
from gateway.routes.organisations import call, fetch
from gateway.schemas import (IDEMPOTENCY_KEY, LANGUAGE, LINE, NAME, OPTIONAL_LINE, OPTIONAL_PHONE, PHONE_RULES,
                             USERNAME, ContactSchema, Email, PageQuerySchema, idempotency_key)
from pe.organisation.v1 import organisation_pb2

blueprint = Blueprint("contacts", __name__, url_prefix="/api/v1/organisations/<uuid:organisation_id>/contacts",
                      description="Second contact, contacts and departments of an organisation.")
BEARER = [{"bearerAuth": []}]
ADDABLE_ROLES = ["second_contact", "contact", "department"]


class NewContactSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=validate.OneOf(ADDABLE_ROLES))
    name = ma.fields.String(required=True, validate=NAME)
    email = Email(required=True)
    phone = ma.fields.String(load_default="", validate=[validate.Length(max=30), OPTIONAL_PHONE])
    department_name = ma.fields.String(load_default="", validate=[validate.Length(max=100), OPTIONAL_LINE],
                                       metadata={"description": "Required for a department, such as 'HR'"})
    username = ma.fields.String(required=True, validate=USERNAME)
    language = ma.fields.String(load_default="nl", validate=LANGUAGE)


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
    @blueprint.doc(operationId="createContact", security=BEARER, parameters=[IDEMPOTENCY_KEY])
    @blueprint.arguments(NewContactSchema)
    @blueprint.response(201, ContactSchema)
    @blueprint.alt_response(409, description="A second contact exists already, or the username is taken")
    def post(self, form, organisation_id):
        """Administrator and second contact: add a contact; it gets its own password-setup mail."""
        organisation_id = str(organisation_id)
        require_manager(organisation_id)
        reply = call("AddContact", organisation_pb2.AddContactRequest(
            organisation_id=organisation_id, role=_role(form["role"]), name=form["name"], email=form["email"],
            phone=form["phone"], department_name=form["department_name"], username=form["username"],
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
    def patch(self, changes, organisation_id, contact_id):
        """Administrator and second contact: change a contact's role, name, e-mail, phone or department."""
        require_manager(str(organisation_id))
        _contact_of(str(organisation_id), str(contact_id))
        if not changes:
            abort(400, description="send at least one field to change")
        contact = organisation_pb2.Contact(
            contact_id=str(contact_id), organisation_id=str(organisation_id),
            role=_role(changes["role"]) if "role" in changes else 0, name=changes.get("name", ""),
            email=changes.get("email", ""), phone=changes.get("phone", ""),
            department_name=changes.get("department_name", ""))
        reply = call("UpdateContact", organisation_pb2.UpdateContactRequest(
            contact=contact, update_mask=sorted(changes), actor_account_id=principal().account_id))
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
