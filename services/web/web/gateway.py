"""The gateway's public API as the pages use it, through the client generated from the gateway's
OpenAPI document (gen/web-client, made by `make gen`): no request here is written by hand.

Every method answers the JSON body as plain data, or raises ApiError with the problem the gateway
answered (RFC 9457: status, type, detail and the fields at fault). Tests use a fake of this class.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from pe_insight_client import AuthenticatedClient, Client
from pe_insight_client.api.consents import (grant_consents, list_consent_history, list_consents, revoke_consent,
                                            update_consent)
from pe_insight_client.api.contacts import create_contact, delete_contact, get_contact, list_contacts, update_contact
from pe_insight_client.api.dossiers import get_dossier, list_access_log, list_dossiers
from pe_insight_client.api.organisations import (authorise_organisation, get_organisation, list_organisations,
                                                 list_organisation_transitions, reject_organisation,
                                                 suspend_organisation, update_organisation)
from pe_insight_client.api.passwords import complete_password_setup, request_password_setup_link
from pe_insight_client.api.account import confirm_email_change
from pe_insight_client.api.professionals import create_professional, import_professionals
from pe_insight_client.api.registrations import create_registration
from pe_insight_client.api.reports import get_overview_report
from pe_insight_client.api.sessions import create_session, delete_session, get_me, refresh_session
from pe_insight_client.models import (ContactUpdate, EndDate, Grant, LinkRequest, Login, NewDepartment, NewPerson,
                                      NewProfessional, OptionalReason, OrganisationUpdate, PasswordSetup, Reason,
                                      Refresh, Registration, EmailConfirmation)
from pe_insight_client.models.get_overview_report_format import GetOverviewReportFormat
from pe_insight_client.models.get_overview_report_language import GetOverviewReportLanguage
from pe_insight_client.models.list_organisations_status import ListOrganisationsStatus
from pe_insight_client.types import File


@dataclass
class ApiError(Exception):
    """A refusal or failure of the gateway, as its problem document says it."""
    status: int
    type: str = "about:blank"
    detail: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)
    retry_after: str = ""

    @property
    def slug(self) -> str:
        return self.type.rsplit(":", 1)[-1] if self.type.startswith("urn:") else ""

    @classmethod
    def unreachable(cls) -> "ApiError":
        return cls(503, "urn:pe-insight:problem:service-unavailable")


@dataclass(frozen=True)
class Download:
    content: bytes
    content_type: str
    filename: str


def _model(model, data: dict):
    """A request body as the generated model of the document builds it. A value the model cannot
    take (a role or language it does not list, an id that is no UUID) is refused here as the gateway
    would refuse it: 400, never a crash."""
    try:
        return model.from_dict(data)
    except (ValueError, KeyError, TypeError) as error:
        raise ApiError(400, "urn:pe-insight:problem:validation-error", str(error)) from None


class GatewayApi:
    def __init__(self, base_url: str, timeout: float = 30.0, forwarded_for=lambda: ""):
        self._base_url, self._timeout = base_url, httpx.Timeout(timeout)
        self._forwarded_for = forwarded_for

    # --- plumbing -----------------------------------------------------------------------------
    def _client(self, token: str | None):
        headers = {}
        address = self._forwarded_for()
        if address:  # the gateway trusts it only where TRUSTED_PROXY_HOPS says the web is its proxy
            headers["X-Forwarded-For"] = address
        if token:
            return AuthenticatedClient(base_url=self._base_url, token=token, timeout=self._timeout,
                                       headers=headers, raise_on_unexpected_status=False)
        return Client(base_url=self._base_url, timeout=self._timeout, headers=headers,
                      raise_on_unexpected_status=False)

    def _send(self, operation, token: str | None, *args, **kwargs):
        # The request as the generated operation builds it; the answer is read here as plain JSON
        # rather than through the generated models, so that an answer the document describes wrongly
        # (seen: an organisation as professionals see it) still shows the page.
        client = self._client(token)
        try:
            with client as open_client:
                return open_client.get_httpx_client().request(**operation._get_kwargs(*args, **kwargs))
        except httpx.HTTPError:
            raise ApiError.unreachable() from None

    def _call(self, operation, token: str | None, *args, **kwargs) -> Any:
        return self._checked(self._send(operation, token, *args, **kwargs))

    # --- anyone -------------------------------------------------------------------------------
    def register(self, form: dict) -> dict:
        return self._call(create_registration, None, body=_model(Registration, form))

    def log_in(self, username: str, password: str) -> dict:
        return self._call(create_session, None, body=Login(username=username, password=password))

    def refresh(self, refresh_token: str) -> dict:
        return self._call(refresh_session, None, body=Refresh(refresh_token=refresh_token))

    def log_out(self, token: str) -> None:
        self._call(delete_session, token)

    def request_link(self, username_or_email: str) -> dict:
        return self._call(request_password_setup_link, None, body=LinkRequest(username_or_email=username_or_email))

    def set_password(self, token: str, password: str) -> dict:
        return self._call(complete_password_setup, None, body=PasswordSetup(token=token, password=password))

    def confirm_email(self, token: str) -> dict:
        return self._call(confirm_email_change, None, body=EmailConfirmation(token=token))

    def me(self, token: str) -> dict:
        return self._call(get_me, token)

    # --- professionals ------------------------------------------------------------------------
    def consents(self, token: str, include_ended: bool = True) -> list[dict]:
        return self._pages(lambda page: self._call(list_consents, token, include_ended=include_ended,
                                                   page_size=200, page_token=page), "consents")

    def consent_history(self, token: str) -> list[dict]:
        return self._pages(lambda page: self._call(list_consent_history, token, page_size=200, page_token=page),
                           "changes")

    def grant(self, token: str, organisation_id: str, contact_ids: list[str], end_date: str | None) -> dict:
        return self._call(grant_consents, token, body=_model(Grant, {
            "organisation_id": organisation_id, "contact_ids": contact_ids, "end_date": end_date}))

    def change_end_date(self, token: str, consent_id: str, end_date: str | None) -> dict:
        return self._call(update_consent, token, consent_id, body=_model(EndDate, {"end_date": end_date}))

    def revoke(self, token: str, consent_id: str) -> dict:
        return self._call(revoke_consent, token, consent_id)

    def access_log(self, token: str) -> list[dict]:
        return self._pages(lambda page: self._call(list_access_log, token, page_size=200, page_token=page),
                           "entries")

    # --- organisations and contacts -----------------------------------------------------------
    def organisations(self, token: str, status: str | None = None, name: str = "") -> list[dict]:
        extra = {"status": ListOrganisationsStatus(status)} if status else {}
        return self._pages(lambda page: self._call(list_organisations, token, name=name, page_size=200,
                                                   page_token=page, **extra), "organisations")

    def organisation(self, token: str, organisation_id: str) -> dict:
        return self._call(get_organisation, token, organisation_id)

    def update_organisation(self, token: str, organisation_id: str, changes: dict) -> dict:
        return self._call(update_organisation, token, organisation_id, body=_model(OrganisationUpdate, changes))

    def transitions(self, token: str, organisation_id: str) -> list[dict]:
        return self._call(list_organisation_transitions, token, organisation_id)["transitions"]

    def decide(self, token: str, organisation_id: str, decision: str, reason: str) -> dict:
        operation, body = {"authorise": (authorise_organisation, OptionalReason),
                           "reject": (reject_organisation, Reason),
                           "suspend": (suspend_organisation, Reason)}[decision]
        return self._call(operation, token, organisation_id, body=body(reason=reason))

    def contacts(self, token: str, organisation_id: str) -> list[dict]:
        return self._pages(lambda page: self._call(list_contacts, token, organisation_id, page_size=200,
                                                   page_token=page), "contacts")

    def contact(self, token: str, organisation_id: str, contact_id: str) -> dict:
        return self._call(get_contact, token, organisation_id, contact_id)

    def add_contact(self, token: str, organisation_id: str, form: dict) -> dict:
        """A department (with its department name) or a person (without one), as the API has them."""
        fields = dict(form)
        if fields.get("role") == "department":
            # An empty department name goes as it is: the gateway then names the field at fault.
            fields.setdefault("department_name", "")
            return self._call(create_contact, token, organisation_id, body=_model(NewDepartment, fields))
        if fields.pop("department_name", ""):
            raise ApiError(400, "urn:pe-insight:problem:validation-error",
                           errors=[{"field": "department_name", "message": "is only for a department"}])
        return self._call(create_contact, token, organisation_id, body=_model(NewPerson, fields))

    def update_contact(self, token: str, organisation_id: str, contact_id: str, changes: dict) -> dict:
        return self._call(update_contact, token, organisation_id, contact_id, body=_model(ContactUpdate, changes))

    def remove_contact(self, token: str, organisation_id: str, contact_id: str) -> None:
        self._call(delete_contact, token, organisation_id, contact_id)

    # --- dossiers and reports -----------------------------------------------------------------
    def dossiers(self, token: str) -> list[dict]:
        return self._pages(lambda page: self._call(list_dossiers, token, page_size=200, page_token=page),
                           "dossiers")

    def dossier(self, token: str, professional_id: str) -> dict:
        return self._call(get_dossier, token, professional_id)

    def report(self, token: str, organisation_id: str, format_: str, language: str) -> Download | dict:
        response = self._send(get_overview_report, token, organisation_id,
                              format_=GetOverviewReportFormat(format_), language=GetOverviewReportLanguage(language))
        if int(response.status_code) >= 400 or format_ == "json":
            return self._checked(response)
        disposition = response.headers.get("Content-Disposition", "")
        filename = disposition.split("filename=", 1)[-1].strip('"') if "filename=" in disposition else f"report.{format_}"
        return Download(response.content, response.headers.get("Content-Type", "application/octet-stream"), filename)

    # --- operator -----------------------------------------------------------------------------
    def create_professional(self, token: str, form: dict) -> dict:
        return self._call(create_professional, token, body=_model(NewProfessional, form))

    def import_professionals(self, token: str, csv_bytes: bytes) -> dict:
        return self._call(import_professionals, token, body=File(payload=csv_bytes, mime_type="text/csv"))

    # --- helpers ------------------------------------------------------------------------------
    def _checked(self, response) -> Any:
        body = _json(response.content)
        if int(response.status_code) >= 400:
            problem = body if isinstance(body, dict) else {}
            raise ApiError(int(response.status_code), str(problem.get("type") or "about:blank"),
                           str(problem.get("detail") or ""), list(problem.get("errors") or []),
                           response.headers.get("Retry-After", ""))
        return body

    @staticmethod
    def _pages(fetch, key: str, limit: int = 50) -> list[dict]:
        """Every page of a list (at most `limit` pages: the pages show lists, not archives)."""
        found, token = [], ""
        for _ in range(limit):
            body = fetch(token)
            found += body.get(key) or []
            token = body.get("next_page_token") or ""
            if not token:
                break
        return found


def _json(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None
