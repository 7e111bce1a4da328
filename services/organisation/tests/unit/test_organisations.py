"""Reading and changing organisations: GetOrganisation, UpdateOrganisation, ListOrganisations, ListContacts."""
from datetime import timedelta

import pytest

from organisation import handlers
from organisation.domain import ContactRole, InvalidInput, NotFound, OrganisationStatus


def _register(deps, factory, **organisation):
    return handlers.register_organisation(factory.registration(organisation=organisation), deps).organisation


def _list(deps, **query):
    return handlers.list_organisations(handlers.ListOrganisations(**query), deps)


def test_update_changes_only_the_masked_fields(deps, factory, clock):
    organisation = _register(deps, factory)
    clock.advance(timedelta(minutes=5))
    form = factory.organisation_form(name="De Brug Uitzendgroep", street="Nieuwe Gracht 1", postcode="3512lk",
                                     city="Utrecht", phone="", email="not checked")
    changed = handlers.update_organisation(handlers.UpdateOrganisation(
        organisation.organisation_id, form, ("name", "visiting_address")), deps)
    assert changed.details.name == "De Brug Uitzendgroep"
    assert changed.details.visiting_address.postcode == "3512 LK"
    assert changed.details.phone == organisation.details.phone
    assert changed.details.chamber_of_commerce_number == organisation.details.chamber_of_commerce_number
    assert changed.updated_at == clock.now() and changed.created_at == organisation.created_at
    assert handlers.get_organisation(organisation.organisation_id, deps) == changed

    only_city = handlers.update_organisation(handlers.UpdateOrganisation(
        organisation.organisation_id, factory.organisation_form(city="Amersfoort"), ("visiting_address.city",)),
        deps)
    assert only_city.details.visiting_address.street == "Nieuwe Gracht 1"
    assert only_city.details.visiting_address.city == "Amersfoort"


def test_update_validates_like_registration(deps, factory):
    organisation = _register(deps, factory)
    form = factory.organisation_form(name="", postcode="1234 SS", phone="1", email="x")
    with pytest.raises(InvalidInput) as refused:
        handlers.update_organisation(handlers.UpdateOrganisation(
            organisation.organisation_id, form, ("name", "visiting_address", "phone", "email")), deps)
    assert set(refused.value.violations) == {"organisation.name", "organisation.visiting_address.postcode",
                                             "organisation.phone", "organisation.email"}
    with pytest.raises(InvalidInput) as refused:
        handlers.update_organisation(handlers.UpdateOrganisation(
            organisation.organisation_id, form, ("chamber_of_commerce_number",)), deps)
    assert "cannot change chamber_of_commerce_number" in refused.value.violations["update_mask"]
    with pytest.raises(NotFound):
        handlers.update_organisation(handlers.UpdateOrganisation("nope", factory.organisation_form(), ("name",)),
                                     deps)


def test_listing_filters_and_orders_by_name_then_id(deps, factory):
    names = ["bakkerij Zon", "Àpex Personeel", "Bakkerij Zon", "Zorg & Co", "De Zonnebloem"]
    made = {name: _register(deps, factory, name=name, city="Den Haag" if "Zon" in name else "Utrecht")
            for name in names}
    handlers.change_organisation_status(handlers.ChangeStatus(
        made["Zorg & Co"].organisation_id, OrganisationStatus.AUTHORISED, "op"), deps)

    everything = [o.name for o in _list(deps).items]
    assert everything[:2] == sorted(["bakkerij Zon", "Bakkerij Zon"], key=lambda n: made[n].organisation_id)
    assert everything[2:] == ["De Zonnebloem", "Zorg & Co", "Àpex Personeel"]

    assert [o.name for o in _list(deps, name_query="ZON").items] == everything[:2] + ["De Zonnebloem"]
    assert [o.name for o in _list(deps, name_query="àpex").items] == ["Àpex Personeel"]
    assert [o.name for o in _list(deps, name_query="%").items] == []
    assert [o.name for o in _list(deps, name_query="&").items] == ["Zorg & Co"]
    assert [o.name for o in _list(deps, city=" den  haag ").items] == everything[:2] + ["De Zonnebloem"]
    assert [o.name for o in _list(deps, city="Den").items] == []
    assert [o.name for o in _list(deps, status=OrganisationStatus.AUTHORISED).items] == ["Zorg & Co"]
    assert [o.name for o in _list(deps, status=OrganisationStatus.PENDING, name_query="zorg").items] == []


def test_listing_in_pages(deps, factory):
    for number in range(7):
        _register(deps, factory, name=f"Bureau {number}")
    seen, token, pages = [], "", 0
    while True:
        page = _list(deps, page_size=3, page_token=token)
        seen += [o.name for o in page.items]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"Bureau {number}" for number in range(7)]
    assert pages == 3
    assert _list(deps, page_size=7).next_page_token == ""


def test_page_sizes_and_tokens(deps, factory):
    for number in range(3):
        _register(deps, factory, name=f"Bureau {number}")
    assert len(_list(deps, page_size=1000).items) == 3
    with pytest.raises(InvalidInput) as refused:
        _list(deps, page_size=-1)
    assert refused.value.violations == {"page_size": "must not be negative"}
    token = _list(deps, page_size=1).next_page_token
    with pytest.raises(InvalidInput) as refused:
        _list(deps, page_size=1, page_token=token, name_query="Bureau")
    assert list(refused.value.violations) == ["page_token"], "a token only fits its own query"
    with pytest.raises(InvalidInput):
        _list(deps, page_token="garbage!")


def test_contacts_in_pages_in_the_order_they_were_added_without_the_removed(deps, factory, clock):
    registered = factory.authorised(deps)
    organisation_id = registered.organisation.organisation_id
    added = []
    for number in range(4):
        clock.advance(timedelta(seconds=1))
        added.append(handlers.add_contact(factory.new_contact(organisation_id, role=ContactRole.CONTACT,
                                                              name=f"Contact {number}"), deps))
    handlers.remove_contact(handlers.RemoveContact(added[1].contact_id), deps)
    seen, token = [], ""
    while True:
        page = handlers.list_contacts(handlers.ListContacts(organisation_id, page_size=2, page_token=token), deps)
        seen += [c.name for c in page.items]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["Anna de Vries", "Contact 0", "Contact 2", "Contact 3"]
    with pytest.raises(NotFound):
        handlers.list_contacts(handlers.ListContacts("7b0c3f62-0a43-4a55-9a0b-3b9e0e5f2c11"), deps)
    other = handlers.register_organisation(factory.registration(), deps).organisation.organisation_id
    first = handlers.list_contacts(handlers.ListContacts(organisation_id, page_size=1), deps)
    with pytest.raises(InvalidInput):
        handlers.list_contacts(handlers.ListContacts(other, page_token=first.next_page_token), deps)


def test_contacts_added_at_the_same_instant_are_each_listed_once(deps, factory):
    organisation_id = factory.authorised(deps).organisation.organisation_id
    for number in range(5):
        handlers.add_contact(factory.new_contact(organisation_id, role=ContactRole.CONTACT,
                                                 name=f"Contact {number}"), deps)
    seen, token = [], ""
    while True:
        page = handlers.list_contacts(handlers.ListContacts(organisation_id, page_size=2, page_token=token), deps)
        seen += [c.contact_id for c in page.items]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 6
