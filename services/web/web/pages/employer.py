"""Employer contacts' pages. Every contact: the professionals who granted them, each dossier.
Administrator and second contact also: organisation data, 'Beheerders' (add, change, remove) and
the overview report on screen with its PDF and XLSX downloads."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from web import auth
from web.gateway import ApiError, Download
from web.i18n import _, language
from web.pages import form
from web.pages.professional import ROLE_NAMES
from web.problems import FormErrors, explain

blueprint = Blueprint("employer", __name__)
contact_only = auth.login_required("employer_contact")
ADDABLE_ROLES = ("second_contact", "contact", "department")


def _managed() -> str:
    membership = auth.managed_organisation()
    if membership is None:
        abort(403)
    return membership["organisation_id"]


@blueprint.get("/employer")
@contact_only
def home():
    if auth.managed_organisation():
        return redirect(url_for("employer.organisation"))
    return redirect(url_for("employer.professionals"))


@blueprint.get("/professionals")
@contact_only
def professionals():
    return render_template("employer/professionals.html", title=_("Professionals"), dossiers=auth.call("dossiers"),
                           memberships=auth.memberships())


@blueprint.get("/professionals/<uuid:professional_id>")
@contact_only
def dossier(professional_id):
    found = auth.call("dossier", str(professional_id))
    return render_template("employer/dossier.html", title=_("Dossier van {name}", name=found.get("display_name", "")),
                           dossier=found)


ORGANISATION_FIELDS = ("name", "visiting_address.street", "visiting_address.postcode", "visiting_address.city",
                       "phone", "email")


def _flat(organisation: dict) -> dict:
    address = organisation.get("visiting_address") or {}
    return {"name": organisation.get("name", ""), "phone": organisation.get("phone", ""),
            "email": organisation.get("email", ""), **{f"visiting_address.{k}": v for k, v in address.items()}}


@blueprint.get("/organisation")
@contact_only
def organisation():
    organisation_id = _managed()
    found = auth.call("organisation", organisation_id)
    return render_template("employer/organisation.html", title=_("Organisatie"), organisation=found)


@blueprint.route("/organisation/edit", methods=["GET", "POST"])
@contact_only
def edit_organisation():
    organisation_id = _managed()
    values, errors = _flat(auth.call("organisation", organisation_id)), FormErrors()
    if request.method == "POST":
        values = form()
        changes = {"name": values.get("name", ""), "phone": values.get("phone", ""), "email": values.get("email", ""),
                   "visiting_address": {key: values.get(f"visiting_address.{key}", "")
                                        for key in ("street", "postcode", "city")}}
        try:
            auth.call("update_organisation", organisation_id, changes)
        except ApiError as error:
            errors = explain(error, set(ORGANISATION_FIELDS))
        else:
            flash(_("De gegevens van de organisatie zijn opgeslagen."), "ok")
            return redirect(url_for("employer.organisation"))
    return render_template("employer/edit_organisation.html", title=_("Organisatiegegevens wijzigen"),
                           values=values, errors=errors)


@blueprint.get("/contacts")
@contact_only
def contacts():
    organisation_id = _managed()
    return render_template("employer/contacts.html", title=_("Beheerders"),
                           contacts=auth.call("contacts", organisation_id), roles=ROLE_NAMES)


CONTACT_FIELDS = ("role", "name", "email", "phone", "department_name", "username")


@blueprint.route("/contacts/new", methods=["GET", "POST"])
@contact_only
def add_contact():
    organisation_id = _managed()
    values, errors = {"role": request.args.get("role", "contact")}, FormErrors()
    if request.method == "POST":
        values = form()
        body = {name: values.get(name, "") for name in CONTACT_FIELDS}
        body["language"] = language()
        if body["role"] not in ADDABLE_ROLES:
            errors = FormErrors({"role": _("Kies een van de mogelijkheden.")}, _("Controleer de gemarkeerde velden."))
            return render_template("employer/contact_form.html", title=_("Toevoegen beheerder"), values=values,
                                   errors=errors, roles=ADDABLE_ROLES, role_names=ROLE_NAMES, new=True)
        if body["role"] != "department":
            del body["department_name"]  # a person has none
        try:
            auth.call("add_contact", organisation_id, body)
        except ApiError as error:
            errors = explain(error, set(CONTACT_FIELDS))
        else:
            flash(_("{name} is toegevoegd en ontvangt een e-mail om een wachtwoord in te stellen.",
                    name=body.get("department_name") or body["name"]), "ok")
            return redirect(url_for("employer.contacts"))
    return render_template("employer/contact_form.html", title=_("Toevoegen beheerder"), values=values,
                           errors=errors, roles=ADDABLE_ROLES, role_names=ROLE_NAMES, new=True)


@blueprint.route("/contacts/<uuid:contact_id>/edit", methods=["GET", "POST"])
@contact_only
def edit_contact(contact_id):
    organisation_id, contact_id = _managed(), str(contact_id)
    current = auth.call("contact", organisation_id, contact_id)
    values, errors = {k: current.get(k) or "" for k in CONTACT_FIELDS}, FormErrors()
    if request.method == "POST":
        values = form()
        changes = {name: values[name] for name in ("name", "email", "phone", "department_name", "role")
                   if name in values and values[name] != (current.get(name) or "")}
        if not changes:
            return redirect(url_for("employer.contacts"))
        try:
            auth.call("update_contact", organisation_id, contact_id, changes)
        except ApiError as error:
            errors = explain(error, set(CONTACT_FIELDS))
        else:
            flash(_("De gegevens van {name} zijn opgeslagen.", name=values.get("name", "")), "ok")
            return redirect(url_for("employer.contacts"))
    roles = ADDABLE_ROLES if current.get("role") != "administrator" else ()
    return render_template("employer/contact_form.html", title=_("Contactpersoon wijzigen"), values=values,
                           errors=errors, roles=roles, role_names=ROLE_NAMES, new=False)


@blueprint.route("/contacts/<uuid:contact_id>/remove", methods=["GET", "POST"])
@contact_only
def remove_contact(contact_id):
    organisation_id, contact_id = _managed(), str(contact_id)
    current = auth.call("contact", organisation_id, contact_id)
    if request.method == "POST":
        try:
            auth.call("remove_contact", organisation_id, contact_id)
        except ApiError as error:
            if error.status == 401:
                raise
            flash(explain(error).summary, "error")
        else:
            flash(_("{name} is verwijderd; de toestemmingen aan deze contactpersoon zijn beëindigd.",
                    name=current.get("department_name") or current.get("name", "")), "ok")
        return redirect(url_for("employer.contacts"))
    return render_template("employer/remove_contact.html", title=_("Contactpersoon verwijderen"), contact=current)


@blueprint.get("/report")
@contact_only
def report():
    organisation_id = _managed()
    try:
        summary, errors = auth.call("report", organisation_id, "json", language()), FormErrors()
    except ApiError as error:
        if error.status == 401:
            raise
        summary, errors = None, explain(error)
    return render_template("employer/report.html", title=_("Overzichtsrapportage"), report=summary, errors=errors)


@blueprint.get("/report.<any(pdf, xlsx):format_>")
@contact_only
def download(format_):
    organisation_id = _managed()
    found = auth.call("report", organisation_id, format_, language())
    if not isinstance(found, Download):
        abort(502)
    response = Response(found.content, mimetype=found.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    return response
