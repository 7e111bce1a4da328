"""The live API against its OpenAPI document: Schemathesis generates requests from the document, valid
and invalid, sends them to the whole stack, and checks every answer against the document with all of
its checks (status codes, content types, headers and bodies as documented, invalid input refused,
valid input not refused, authentication not ignored, 405 with Allow, ...), including the stateful
phase that follows the document's links. Once anonymously and once as each role, with people made
through the API; every run must end with no failure at all.

The runs are bounded and reproducible: deterministic generation (no seed, no example database), a few
examples an operation.
"""
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from support.api import add_contact, create_operator, create_professional, log_in, register

pytestmark = pytest.mark.system

HERE = Path(__file__).resolve().parent
SCHEMATHESIS = [sys.executable, "-m", "schemathesis.cli"]
MAX_EXAMPLES = os.environ.get("CONTRACT_MAX_EXAMPLES", "5")
# What each role runs: the operations open to it (the anonymous run has every operation, and finds
# the public ones and each refusal of a missing token). Logging out (deleteSession) would end the
# one session a run uses, so it is tried anonymously only.
OWN_ACCOUNT = ["getSession", "getMe", "changePassword", "requestEmailChange"]
MANAGER = ["getOrganisation", "updateOrganisation", "listOrganisationTransitions", "listContacts", "createContact",
           "getContact", "updateContact", "deleteContact", "getOverviewReport", "listDossiers", "getDossier"]
ROLE_OPERATIONS = {
    "operator": ["listOrganisations", "getOrganisation", "authoriseOrganisation", "rejectOrganisation",
                 "suspendOrganisation", "listOrganisationTransitions", "listContacts", "getContact",
                 "createProfessional", "importProfessionals", "createRegistration"],
    "administrator": MANAGER,
    "second_contact": MANAGER,
    "contact": ["listDossiers", "getDossier", "getOrganisation", "listContacts"],
    "professional": ["listOrganisations", "getOrganisation", "listContacts", "grantConsents", "listConsents",
                     "listConsentHistory", "updateConsent", "revokeConsent", "getDossier", "listAccessLog"],
}


@pytest.fixture(scope="module")
def stack_settings():
    # Schemathesis registers and logs in far more often than a person: the per-address limits are
    # raised as `make run` raises them (their 429 is tested in test_rate_limits).
    many = "100000 per hour"
    return {"gateway": {"RATE_LIMIT_REGISTRATIONS": many, "RATE_LIMIT_LINK_REQUESTS": many,
                        "RATE_LIMIT_LOGINS": many, "RATE_LIMIT_PASSWORD_SETUPS": many,
                        "RATE_LIMIT_EMAIL_CONFIRMATIONS": many}}


@pytest.fixture(scope="module")
def people(stack, mailbox):
    """One of each role, with an authorised organisation and a consent between them."""
    operator = create_operator(stack, mailbox)
    organisation_id, administrator = register(stack, mailbox, "Contract Uitzenden")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    second = add_contact(stack, mailbox, administrator, organisation_id, "second_contact")
    contact = add_contact(stack, mailbox, administrator, organisation_id, "contact")
    professional = create_professional(stack, mailbox, operator)
    granted = professional.api.post("/consents", json={
        "organisation_id": organisation_id, "contact_ids": [contact.contact_id, second.contact_id],
        "end_date": (date.today() + timedelta(days=30)).isoformat()})
    assert granted.status_code == 201, granted.text
    return {"operator": operator, "administrator": administrator, "second_contact": second,
            "contact": contact, "professional": professional}


def schemathesis_run(stack, report_dir, *options) -> subprocess.CompletedProcess:
    command = [*SCHEMATHESIS, "--config-file", str(HERE / "schemathesis.toml"), "run",
               f"{stack.gateway_url}/api/v1/openapi.json", "--checks", "all", "--output-sanitize", "false",
               "--max-examples", MAX_EXAMPLES, "--generation-deterministic",
               "--workers", "1", "--no-color", "--suppress-health-check", "all",
               "--report", "junit", "--report-dir", str(report_dir), *options]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "contract_hooks", "PYTHONPATH": str(HERE)}
    # Run in the test's folder: Schemathesis keeps its replay store (.schemathesis/) where it runs.
    return subprocess.run(command, cwd=report_dir, env=env, capture_output=True, text=True, timeout=600)


def _assert_clean(run: subprocess.CompletedProcess):
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]


def test_the_api_keeps_its_document_for_anonymous_callers(stack, tmp_path):
    _assert_clean(schemathesis_run(stack, tmp_path))


@pytest.mark.parametrize("role", ["operator", "administrator", "second_contact", "contact", "professional"])
def test_the_api_keeps_its_document_for_each_role(stack, people, tmp_path, role):
    included = [option for operation in ROLE_OPERATIONS[role] + OWN_ACCOUNT
                for option in ("--include-operation-id", operation)]
    token = log_in(stack, people[role].username).api.token  # fresh: a token lives 10 minutes
    _assert_clean(schemathesis_run(stack, tmp_path, "--header", f"Authorization: Bearer {token}", *included))
