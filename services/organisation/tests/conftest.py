"""Factories and fixtures both test folders of the organisation service use."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from organisation import handlers
from organisation.__main__ import MIGRATIONS
from organisation.domain import Language, OrganisationStatus
from svckit.clock import ManualClock
from svckit.db import make_engine, upgrade

START = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)
_numbers = itertools.count(10000001)


def kvk_number() -> str:
    """A fresh valid Chamber of Commerce number per call."""
    return str(next(_numbers))


def organisation_form(**overrides) -> handlers.OrganisationForm:
    values = dict(name="Uitzendbureau De Brug B.V.", chamber_of_commerce_number=kvk_number(),
                  street="Stationsplein 12", postcode="3511ed", city="Utrecht", phone="+31 30 123 4567",
                  email="info@debrug.nl")
    return handlers.OrganisationForm(**{**values, **overrides})


def applicant_form(**overrides) -> handlers.ApplicantForm:
    values = dict(name="Anna de Vries", email="anna@debrug.nl", phone="06-12345678",
                  username=f"anna.{next(_numbers)}", language=Language.NL)
    return handlers.ApplicantForm(**{**values, **overrides})


def registration(organisation: dict | None = None, applicant: dict | None = None,
                 idempotency_key: str = "") -> handlers.RegisterOrganisation:
    return handlers.RegisterOrganisation(organisation_form(**(organisation or {})),
                                         applicant_form(**(applicant or {})), idempotency_key)


def new_contact(organisation_id: str, **overrides) -> handlers.AddContact:
    values = dict(organisation_id=organisation_id, role=None, name="Bram Jansen", email="bram@debrug.nl",
                  phone="", department_name="", username=f"bram.{next(_numbers)}", language=Language.NL,
                  actor_account_id="actor-1", idempotency_key="")
    return handlers.AddContact(**{**values, **overrides})


def authorised(deps, **registration_values) -> handlers.Registered:
    """A registered organisation the operator has authorised: only such a one gets contacts."""
    registered = handlers.register_organisation(registration(**registration_values), deps)
    handlers.change_organisation_status(handlers.ChangeStatus(
        registered.organisation.organisation_id, OrganisationStatus.AUTHORISED, "operator-1"), deps)
    return registered


@pytest.fixture
def factory() -> SimpleNamespace:
    """The factories above, for test modules (which cannot import a conftest)."""
    return SimpleNamespace(kvk_number=kvk_number, organisation_form=organisation_form,
                           applicant_form=applicant_form, registration=registration, new_contact=new_contact,
                           authorised=authorised)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def migrated():
    """Engines on the given URLs, migrated to head, disposed afterwards."""
    made = []

    def make(url: str):
        engine = make_engine(url)
        upgrade(engine, MIGRATIONS)
        made.append(engine)
        return engine
    yield make
    for engine in made:
        engine.dispose()
