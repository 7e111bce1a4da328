"""A professional's pages: the own dossier, and 'inzage werkgever': the consents with 'toevoegen',
the end date, the bin icon to revoke (after a confirmation), the history, and who read the dossier."""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for

from web import auth
from web.gateway import ApiError
from web.i18n import _
from web.pages import form
from web.problems import FormErrors, explain

blueprint = Blueprint("professional", __name__)
# Dates are typed as people write them (31-03-2027), in a text field: a browser's date field orders
# its parts by the browser's language, not the page's, and is awkward by keyboard and screen reader.
DUTCH_DATE = re.compile(r"^\s*(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4})\s*$")
ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


def parse_date(text: str) -> str | None:
    """'31-03-2027' (or 2027-03-31) as 2027-03-31; empty as None; ValueError for anything else."""
    if not text.strip():
        return None
    found = DUTCH_DATE.match(text)
    if found:
        day, month, year = (int(part) for part in found.groups())
    else:
        found = ISO_DATE.match(text)
        if not found:
            raise ValueError(text)
        year, month, day = (int(part) for part in found.groups())
    return date(year, month, day).isoformat()


def _date_error() -> str:
    return _("Vul een datum in als dd-mm-jjjj, bijvoorbeeld 31-03-2027.")
professional_only = auth.login_required("professional")


@blueprint.get("/dossier")
@professional_only
def dossier():
    found = auth.call("dossier", auth.account()["account_id"])
    return render_template("professional/dossier.html", title=_("Mijn dossier"), dossier=found)


class Names:
    """Names of organisations and contacts for the ids a consent holds, asked once per page."""

    def __init__(self):
        self.organisations: dict[str, str] = {}
        self.contacts: dict[str, str] = {}

    def organisation(self, organisation_id: str) -> str:
        if organisation_id not in self.organisations:
            try:
                self.organisations[organisation_id] = auth.call("organisation", organisation_id).get("name", "")
                for contact in auth.call("contacts", organisation_id):
                    self.contacts[contact["contact_id"]] = contact_label(contact)
            except ApiError as error:
                if error.status not in (404, 403):
                    raise
                self.organisations[organisation_id] = _("(organisatie niet meer zichtbaar)")
        return self.organisations[organisation_id]

    def contact(self, organisation_id: str, contact_id: str) -> str:
        self.organisation(organisation_id)
        return self.contacts.get(contact_id, _("(contactpersoon verwijderd)"))


def contact_label(contact: dict) -> str:
    role = ROLE_NAMES.get(contact.get("role", ""), "")
    name = contact.get("department_name") or contact.get("name", "")
    return f"{name} ({_(role)})" if role else name


ROLE_NAMES = {"administrator": "beheerder", "second_contact": "2e contactpersoon", "contact": "contactpersoon",
              "department": "afdeling"}


@blueprint.get("/consents")
@professional_only
def consents():
    names = Names()
    everything = auth.call("consents", True)
    current = [c for c in everything if c.get("state") == "active"]
    ended = [c for c in everything if c.get("state") != "active"]
    history = auth.call("consent_history")
    log = auth.call("access_log")
    return render_template("professional/consents.html", title=_("Inzage werkgever"), current=current,
                           ended=ended, history=list(reversed(history)), log=list(reversed(log)), names=names,
                           errors=FormErrors())


@blueprint.route("/consents/new", methods=["GET"])
@professional_only
def choose_organisation():
    query = request.args.get("name", "").strip()
    organisations = auth.call("organisations", None, query)
    return render_template("professional/choose_organisation.html", title=_("Toestemming toevoegen"),
                           organisations=organisations, query=query)


@blueprint.route("/consents/new/<uuid:organisation_id>", methods=["GET", "POST"])
@professional_only
def grant(organisation_id):
    organisation_id = str(organisation_id)
    organisation = auth.call("organisation", organisation_id)
    contacts = auth.call("contacts", organisation_id)
    chosen, end_date, errors = [], "", FormErrors()
    if request.method == "POST":
        chosen = request.form.getlist("contact_ids")
        end_date = request.form.get("end_date", "").strip()
        try:
            iso_end_date = parse_date(end_date)
        except ValueError:
            iso_end_date = None
            errors.fields["end_date"] = _date_error()
        if not chosen:
            errors.fields["contact_ids"] = _("Kies minstens één contactpersoon of afdeling.")
        if errors.fields:
            errors.summary = _("Controleer de gemarkeerde velden.")
        else:
            try:
                auth.call("grant", organisation_id, chosen, iso_end_date)
            except ApiError as error:
                errors = explain(error, {"contact_ids", "end_date"})
            else:
                flash(_("Toestemming gegeven aan {count} contactpersoon/contactpersonen van {name}.",
                        count=len(chosen), name=organisation.get("name", "")), "ok")
                return redirect(url_for("professional.consents"))
    return render_template("professional/grant.html", title=_("Toestemming toevoegen"), organisation=organisation,
                           contacts=contacts, chosen=chosen, end_date=end_date, errors=errors,
                           contact_label=contact_label)


@blueprint.post("/consents/<uuid:consent_id>/end-date")
@professional_only
def change_end_date(consent_id):
    values = form()
    try:
        auth.call("change_end_date", str(consent_id), parse_date(values.get("end_date", "")))
    except ValueError:
        flash(_date_error(), "error")
    except ApiError as error:
        if error.status == 401:
            raise
        flash(explain(error, {"end_date"}).fields.get("end_date") or explain(error).summary, "error")
    else:
        flash(_("De einddatum is gewijzigd."), "ok")
    return redirect(url_for("professional.consents"))


@blueprint.route("/consents/<uuid:consent_id>/revoke", methods=["GET", "POST"])
@professional_only
def revoke(consent_id):
    consent_id = str(consent_id)
    consent = next((c for c in auth.call("consents", False) if c["consent_id"] == consent_id), None)
    if consent is None:
        flash(_("Deze toestemming loopt niet meer."), "info")
        return redirect(url_for("professional.consents"))
    if request.method == "POST":
        auth.call("revoke", consent_id)
        flash(_("De toestemming is ingetrokken. Vanaf nu ziet deze contactpersoon uw dossier niet meer."), "ok")
        return redirect(url_for("professional.consents"))
    names = Names()
    return render_template("professional/revoke.html", title=_("Toestemming intrekken"), consent=consent,
                           names=names)
