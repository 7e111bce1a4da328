"""The operator's pages: organisations waiting for a decision, authorise, reject or suspend with a
reason, and professionals created one by one or from a CSV file with the result per row."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from web import auth
from web.gateway import ApiError
from web.i18n import _, language
from web.pages import form
from web.problems import FormErrors, explain

blueprint = Blueprint("operator", __name__, url_prefix="/operator")
operator_only = auth.login_required("operator")
STATUSES = ("pending", "authorised", "suspended", "rejected")
DECISIONS = {"authorise": ("pending", "suspended"), "reject": ("pending",), "suspend": ("authorised",)}


@blueprint.get("/organisations")
@operator_only
def organisations():
    status = request.args.get("status", "pending")
    status = status if status in STATUSES else "pending"
    return render_template("operator/organisations.html", title=_("Organisaties"), status=status,
                           statuses=STATUSES, organisations=auth.call("organisations", status))


@blueprint.route("/organisations/<uuid:organisation_id>", methods=["GET", "POST"])
@operator_only
def organisation(organisation_id):
    organisation_id = str(organisation_id)
    errors = FormErrors()
    if request.method == "POST":
        values = form()
        decision = values.get("decision", "")
        if decision not in DECISIONS:
            errors = FormErrors(summary=_("Kies een besluit."))
        elif decision != "authorise" and not values.get("reason"):
            errors = FormErrors({"reason": _("Geef een reden op.")}, _("Controleer de gemarkeerde velden."))
        else:
            try:
                auth.call("decide", organisation_id, decision, values.get("reason", ""))
            except ApiError as error:
                errors = explain(error, {"reason"})
            else:
                flash({"authorise": _("De organisatie is geautoriseerd."), "reject": _("De organisatie is afgewezen."),
                       "suspend": _("De organisatie is geschorst.")}[decision], "ok")
                return redirect(url_for("operator.organisation", organisation_id=organisation_id))
    found = auth.call("organisation", organisation_id)
    decisions = [d for d, allowed in DECISIONS.items() if found.get("status") in allowed]
    return render_template("operator/organisation.html", title=found.get("name", ""), organisation=found,
                           decisions=decisions, transitions=auth.call("transitions", organisation_id),
                           errors=errors)


BAD_FILE = ("Het bestand klopt niet: de eerste regel moet de kolommen noemen (username, email, display_name, "
            "pe_registration_number, language) en het bestand moet UTF-8 zijn.")
PROFESSIONAL_FIELDS = ("username", "email", "display_name", "pe_registration_number")


@blueprint.route("/professionals/new", methods=["GET", "POST"])
@operator_only
def new_professional():
    values, errors = {}, FormErrors()
    if request.method == "POST":
        values = form()
        body = {name: values.get(name, "") for name in PROFESSIONAL_FIELDS}
        body["language"] = values.get("language") if values.get("language") in ("nl", "en") else language()
        try:
            created = auth.call("create_professional", body)
        except ApiError as error:
            errors = explain(error, set(PROFESSIONAL_FIELDS))
        else:
            flash(_("{name} is aangemaakt en ontvangt een e-mail om een wachtwoord in te stellen.",
                    name=created.get("display_name", "")), "ok")
            return redirect(url_for("operator.new_professional"))
    return render_template("operator/new_professional.html", title=_("Professional toevoegen"), values=values,
                           errors=errors)


@blueprint.route("/professionals/import", methods=["GET", "POST"])
@operator_only
def import_professionals():
    result, errors = None, FormErrors()
    if request.method == "POST":
        upload = request.files.get("file")
        content = upload.read() if upload else b""
        if not content:
            errors = FormErrors({"file": _("Kies een CSV-bestand.")}, _("Controleer de gemarkeerde velden."))
        else:
            try:
                result = auth.call("import_professionals", content)
            except ApiError as error:
                errors = explain(error, {"file"})
                if error.detail and error.status == 400:
                    errors.fields["file"] = _(BAD_FILE)
    return render_template("operator/import.html", title=_("Professionals importeren"), result=result, errors=errors)
