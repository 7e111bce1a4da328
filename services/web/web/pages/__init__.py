"""The pages, one module per audience: anyone, professionals, employer contacts, the operator."""
from __future__ import annotations

from flask import request

from web import auth
from web.i18n import _


def form() -> dict[str, str]:
    """The posted form, trimmed (passwords as typed)."""
    return {key: (value if "password" in key else value.strip()) for key, value in request.form.items()
            if key != "csrf_token"}


def menu() -> list[tuple[str, str]]:
    kind = auth.kind()
    if kind == "professional":
        return [("professional.dossier", _("Mijn dossier")), ("professional.consents", _("Inzage werkgever"))]
    if kind == "operator":
        return [("operator.organisations", _("Organisaties")), ("operator.new_professional", _("Professional toevoegen")),
                ("operator.import_professionals", _("Professionals importeren"))]
    if kind == "employer_contact":
        items = [("employer.professionals", _("Professionals"))]
        if auth.managed_organisation():
            items = [("employer.organisation", _("Organisatie")), ("employer.contacts", _("Beheerders")),
                     ("employer.report", _("Overzichtsrapportage"))] + items
        return items
    return []
