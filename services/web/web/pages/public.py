"""Pages for anyone: apply for an employer account, set a password from the mail's link, log in,
forgot password, log out, confirm a new e-mail address."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from web import auth
from web.gateway import ApiError
from web.i18n import _, language
from web.pages import form
from web.problems import FormErrors, explain

blueprint = Blueprint("public", __name__)

HOME_OF = {"professional": "professional.dossier", "operator": "operator.organisations",
           "employer_contact": "employer.home"}


@blueprint.get("/")
def home():
    if auth.account():
        return redirect(url_for(HOME_OF.get(auth.kind(), "public.login")))
    return redirect(url_for("public.login"))


def _safe_next(target: str | None) -> str | None:
    return target if target and target.startswith("/") and not target.startswith("//") else None


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    values, errors = {}, FormErrors()
    if request.method == "POST":
        values = form()
        try:
            tokens = auth.api().log_in(values.get("username", ""), values.get("password", ""))
        except ApiError as error:
            errors = explain(error, {"username", "password"})
            if error.status == 401:
                errors.summary = _("Gebruikersnaam of wachtwoord klopt niet.")
        else:
            auth.start(tokens)  # keeps the language chosen before
            return redirect(_safe_next(request.args.get("next")) or url_for("public.home"))
    return render_template("public/login.html", title=_("Inloggen"), values=values, errors=errors)


@blueprint.post("/logout")
def logout():
    token = auth.session.get("access_token")
    if token:
        try:
            auth.api().log_out(token)
        except ApiError:
            pass  # the session ends here whatever the gateway says; its tokens expire within minutes
    auth.end()
    flash(_("U bent uitgelogd."), "ok")
    return redirect(url_for("public.login"))


REGISTRATION_FIELDS = ("organisation.name", "organisation.chamber_of_commerce_number",
                       "organisation.visiting_address.street", "organisation.visiting_address.postcode",
                       "organisation.visiting_address.city", "organisation.phone", "organisation.email",
                       "applicant.name", "applicant.email", "applicant.phone", "applicant.username")


def _nested(values: dict[str, str]) -> dict:
    """{"a.b": 1} as {"a": {"b": 1}}: the form's names are the API's fields."""
    found: dict = {}
    for name in REGISTRATION_FIELDS:
        place = found
        *parents, leaf = name.split(".")
        for parent in parents:
            place = place.setdefault(parent, {})
        place[leaf] = values.get(name, "")
    return found


@blueprint.route("/apply", methods=["GET", "POST"])
def apply():
    values, errors = {}, FormErrors()
    if request.method == "POST":
        values = form()
        body = _nested(values)
        body["applicant"]["language"] = language()
        try:
            result = auth.api().register(body)
        except ApiError as error:
            errors = explain(error, set(REGISTRATION_FIELDS))
        else:
            return render_template("public/applied.html", title=_("Aanvraag ontvangen"), result=result,
                                   email=values.get("applicant.email", ""))
    return render_template("public/apply.html", title=_("Werkgeversaccount aanvragen"), values=values, errors=errors)


@blueprint.route("/set-password", methods=["GET", "POST"])
def set_password():
    token = request.values.get("token", "")
    values, errors = {}, FormErrors()
    if request.method == "POST":
        values = form()
        if values.get("password") != values.get("password_again"):
            errors = FormErrors({"password_again": _("De twee wachtwoorden zijn niet gelijk.")},
                                _("Controleer de gemarkeerde velden."))
        else:
            try:
                result = auth.api().set_password(token, values.get("password", ""))
            except ApiError as error:
                errors = explain(error, {"password"})
            else:
                flash(_("Uw wachtwoord is ingesteld. Log in met gebruikersnaam {username}.",
                        username=result.get("username", "")), "ok")
                return redirect(url_for("public.login"))
    return render_template("public/set_password.html", title=_("Wachtwoord instellen"), token=token,
                           errors=errors)


@blueprint.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    values, errors, sent = {}, FormErrors(), False
    if request.method == "POST":
        values = form()
        try:
            auth.api().request_link(values.get("username_or_email", ""))
            sent = True
        except ApiError as error:
            errors = explain(error, {"username_or_email"})
    return render_template("public/forgot_password.html", title=_("Wachtwoord vergeten"), values=values,
                           errors=errors, sent=sent)


@blueprint.route("/confirm-email", methods=["GET", "POST"])
def confirm_email():
    token = request.values.get("token", "")
    errors, done = FormErrors(), False
    if request.method == "POST":
        try:
            auth.api().confirm_email(token)
            done = True
        except ApiError as error:
            errors = explain(error)
    return render_template("public/confirm_email.html", title=_("E-mailadres bevestigen"), token=token,
                           errors=errors, done=done)
