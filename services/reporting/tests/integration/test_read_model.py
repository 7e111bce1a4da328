"""The read model on a real database (SQLite, or PostgreSQL with TEST_POSTGRES_URL): events applied
in any order and any number of times end the same; gaps are filled from consent; reports wait for
the position asked; a rebuild equals the live model; reads and reports are logged."""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone

import pytest

from reporting import handlers
from reporting.domain import ConsentState, NotFound, Outcome, ReportFormat

pytestmark = pytest.mark.integration

ORG_NAME = "Zorggroep Noord"


def model(deps) -> dict:
    with deps.store.read() as tx:
        return {c.consent_id: c for c in tx.all_consents()}


def position(deps) -> tuple[int, list[int]]:
    return handlers.log_gap(deps)


def pid(n: int) -> str:
    return f"aaaaaaaa-0000-4000-8000-{n:012d}"


def kid(n: int) -> str:
    return f"bbbbbbbb-0000-4000-8000-{n:012d}"


@pytest.fixture
def organisation(organisations):
    return organisations.add(ORG_NAME)


def busy_world(world, organisation, other_organisation="cccccccc-0000-4000-8000-000000000001"):
    """Grants, changes, revocations and expiries of a few professionals; answers the log."""
    events = []
    for n in range(1, 7):
        events.append(world.grant(pid(n), organisation, kid(n % 3), end_date=date(2027, 6, 30) if n % 2 else None))
    events.append(world.grant(pid(9), other_organisation, kid(9)))
    first = list(world.consents)
    events.append(world.change(first[0], date(2028, 1, 31)))
    events.append(world.revoke(first[1]))
    events.append(world.change(first[2], None))
    events.append(world.expire(first[3]))
    events.append(world.change(first[0], date(2029, 1, 31)))
    return events


def test_duplicated_and_reordered_events_end_in_the_consent_services_view(deps, consent_world, organisation):
    events = busy_world(consent_world, organisation)
    delivered = events + random.Random(7).sample(events, 6)
    random.Random(3).shuffle(delivered)
    outcomes = [handlers.apply_consent_event(event, deps) for event in delivered]
    assert model(deps) == consent_world.consents
    assert position(deps) == (len(events), [])
    assert outcomes.count(Outcome.DUPLICATE) == 6
    assert Outcome.STALE in outcomes  # some older events came after newer ones of their consent


def test_an_older_event_changes_nothing(deps, consent_world, organisation):
    granted = consent_world.grant(pid(1), organisation, kid(1))
    revoked = consent_world.revoke(granted.consent.consent_id)
    assert handlers.apply_consent_event(revoked, deps) is Outcome.APPLIED
    assert handlers.apply_consent_event(granted, deps) is Outcome.STALE
    assert model(deps)[granted.consent.consent_id].state is ConsentState.REVOKED
    assert position(deps) == (2, [])


def test_a_gap_is_kept_until_filled_and_catch_up_fills_it_from_consent(deps, consent_world, organisation):
    events = [consent_world.grant(pid(n), organisation, kid(1)) for n in range(1, 6)]
    for event in (events[0], events[1], events[3], events[4]):
        handlers.apply_consent_event(event, deps)
    assert position(deps) == (2, [4, 5])
    assert handlers.catch_up(deps) == 5
    assert position(deps) == (5, [])
    assert model(deps) == consent_world.consents


def test_a_report_waits_for_the_position_asked_and_fills_the_gap_from_consent(deps, consent_world, organisation,
                                                                              report_of):
    granted = consent_world.grant(pid(1), organisation, kid(1))
    kept = consent_world.grant(pid(2), organisation, kid(1))
    for event in (granted, kept):
        handlers.apply_consent_event(event, deps)
    revoked = consent_world.revoke(granted.consent.consent_id)      # committed at consent, not delivered yet
    assert [r["professional_id"] for r in report_of(organisation)["professionals"]] == sorted([pid(1), pid(2)])

    report = report_of(organisation, min_log_position=revoked.position)
    assert report["log_position"] == revoked.position
    assert [r["professional_id"] for r in report["professionals"]] == [pid(2)]
    assert report["summary"]["professionals"] == 1


def test_a_report_that_cannot_catch_up_is_unavailable_with_retry_after(deps, consent_world, organisation):
    handlers.apply_consent_event(consent_world.grant(pid(1), organisation, kid(1)), deps)
    consent_world.grant(pid(2), organisation, kid(1))
    consent_world.available = False
    slept = []
    deps.sleep = lambda seconds: slept.append(seconds)
    clock = iter(x * 0.1 for x in range(1000))
    deps.monotonic = lambda: next(clock)
    with pytest.raises(handlers.Unavailable) as caught:
        handlers.generate_report(handlers.ReportRequest(organisation, ReportFormat.JSON, pid(99), 2), deps)
    assert caught.value.reason == "READ_MODEL_BEHIND" and caught.value.retry_after == 1
    assert slept and sum(slept) <= deps.report_wait_seconds + 0.1
    with deps.store.read() as tx:   # nothing was logged for a report never made
        assert tx.count_access_entries(pid(1)) == 0


def test_rebuild_equals_the_live_read_model_and_keeps_progress_and_logs(deps, consent_world, organisation, report_of):
    events = busy_world(consent_world, organisation)
    for event in random.Random(11).sample(events, len(events)):
        handlers.apply_consent_event(event, deps)
    handlers.ingest_progress([({"pe_registration_number": f"PE-{pid(1)[:8]}", "period_start": "2025-01-01",
                                "period_end": "2027-12-31", "points_required": 60, "points_earned": 30}, None)], deps)
    report_of(organisation)
    live = model(deps)
    with deps.store.read() as tx:
        logged = tx.count_access_entries(pid(1))
    result = handlers.rebuild(deps, page_size=4)
    assert model(deps) == live == consent_world.consents
    assert (result.events, result.applied_through, result.consents) == (len(events), len(events), len(live))
    assert position(deps) == (len(events), [])
    with deps.store.read() as tx:
        assert tx.stored_progress(f"PE-{pid(1)[:8]}") is not None
        assert tx.count_access_entries(pid(1)) == logged > 0
    # events still on their way from the broker change nothing after the rebuild
    assert handlers.apply_consent_event(events[0], deps) is Outcome.DUPLICATE


def test_the_report_holds_only_consenting_professionals_with_names_and_is_logged(deps, consent_world, organisation,
                                                                                accounts, clock):
    world = consent_world
    for event in (world.grant(pid(1), organisation, kid(1), end_date=date(2026, 11, 30)),
                  world.grant(pid(1), organisation, kid(2), end_date=date(2027, 2, 1)),
                  world.grant(pid(2), organisation, kid(1)),
                  world.grant(pid(3), organisation, kid(1), end_date=date(2026, 11, 28)),
                  world.grant(pid(4), "cccccccc-0000-4000-8000-000000000001", kid(5))):
        handlers.apply_consent_event(event, deps)
    revoked = world.grant(pid(5), organisation, kid(1))
    handlers.apply_consent_event(revoked, deps)
    handlers.apply_consent_event(world.revoke(revoked.consent.consent_id), deps)
    accounts.names.update({pid(1): "Zoë de Wit", pid(2): "Anton Bos", pid(3): "Mila Jansen"})
    clock.set(datetime(2026, 11, 28, 23, 30, tzinfo=timezone.utc))   # 29 November in Amsterdam: pid(3) ended

    generated = handlers.generate_report(handlers.ReportRequest(organisation, ReportFormat.JSON, pid(90)), deps)
    document = json.loads(b"".join(generated.content))
    rows = document["professionals"]
    assert [(r["name"], r["consent_valid_until"]) for r in rows] == [("Anton Bos", None), ("Zoë de Wit", "2027-02-01")]
    assert document["summary"] == {"professionals": 2, "on_track": 0, "behind": 0, "dossier_submitted": 0,
                                   "no_data": 2}
    assert generated.filename == "pe-overview-zorggroep-noord-2026-11-29.json"
    with deps.store.read() as tx:
        record = tx.report(document["report_id"])
        assert (record.requested_by_account_id, record.professional_count, record.log_position) == (pid(90), 2, 7)
        assert tx.report_professionals(document["report_id"]) == sorted([pid(1), pid(2)])
    entries, _ = handlers.list_access_log(pid(1), 10, "", deps)
    assert [(e.kind, e.report_id, e.reader_account_id) for e in entries] == \
        [("report_inclusion", document["report_id"], pid(90))]
    assert handlers.list_access_log(pid(5), 10, "", deps)[0] == []      # revoked: never in a report


def test_no_report_for_an_unknown_or_unauthorised_organisation(deps, organisations):
    with pytest.raises(NotFound):
        handlers.generate_report(handlers.ReportRequest(pid(50), ReportFormat.JSON, pid(90)), deps)
    suspended = organisations.add("Geschorst B.V.", authorised=False)
    with pytest.raises(handlers.OrganisationNotAuthorised):
        handlers.generate_report(handlers.ReportRequest(suspended, ReportFormat.JSON, pid(90)), deps)


def test_a_dossier_read_is_logged_and_only_under_a_valid_consent_of_that_reader(deps, consent_world, organisation,
                                                                               accounts, clock):
    granted = consent_world.grant(pid(1), organisation, kid(1), end_date=date(2026, 12, 31))
    handlers.apply_consent_event(granted, deps)
    number = granted.consent.pe_registration_number
    handlers.ingest_progress([({"pe_registration_number": number, "period_start": "2025-01-01",
                                "period_end": "2027-12-31", "points_required": 60, "points_earned": 12.5,
                                "activities": [{"title": "Ethiek", "provider": "SEU", "completion_date": "2025-05-01",
                                                "points": 12.5, "category": "Integriteit"}]}, None)], deps)
    accounts.names[pid(1)] = "Fenna Smit"
    request = handlers.DossierRequest(pid(1), pid(80), kid(1), granted.consent.consent_id)
    dossier = handlers.get_dossier(request, deps)
    assert (dossier.display_name, dossier.consent_end_date) == ("Fenna Smit", date(2026, 12, 31))
    assert dossier.progress.points_earned == 12.5 and dossier.progress.activities[0].title == "Ethiek"

    for wrong in (handlers.DossierRequest(pid(2), pid(80), kid(1), granted.consent.consent_id),
                  handlers.DossierRequest(pid(1), pid(80), kid(2), granted.consent.consent_id)):
        with pytest.raises(NotFound):
            handlers.get_dossier(wrong, deps)
    clock.set(datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc))   # 1 January in Amsterdam
    with pytest.raises(NotFound):
        handlers.get_dossier(request, deps)
    entries, _ = handlers.list_access_log(pid(1), 10, "", deps)
    assert [(e.kind, e.reader_account_id, e.consent_id, e.organisation_id) for e in entries] == \
        [("dossier_read", pid(80), granted.consent.consent_id, organisation)]


def test_a_dossier_just_granted_is_found_by_catching_up(deps, consent_world, organisation):
    granted = consent_world.grant(pid(1), organisation, kid(1))   # not delivered by the broker yet
    dossier = handlers.get_dossier(handlers.DossierRequest(pid(1), pid(80), kid(1), granted.consent.consent_id), deps)
    assert dossier.progress is None and dossier.consent_id == granted.consent.consent_id


def test_a_dossier_the_read_model_is_behind_on_is_unavailable_while_consent_cannot_be_asked(
        deps, consent_world, organisation):
    granted = consent_world.grant(pid(1), organisation, kid(1))   # not delivered by the broker yet
    consent_world.available = False                              # and consent's log cannot be asked
    request = handlers.DossierRequest(pid(1), pid(80), kid(1), granted.consent.consent_id)
    with pytest.raises(handlers.Unavailable) as caught:          # a retryable 503, not a 404
        handlers.get_dossier(request, deps)
    assert caught.value.reason == "READ_MODEL_BEHIND" and caught.value.retry_after > 0
    consent_world.available = True
    assert handlers.get_dossier(request, deps).consent_id == granted.consent.consent_id


def test_dossiers_of_a_contact_are_listed_in_pages(deps, consent_world, organisation, clock):
    for n in range(1, 8):
        handlers.apply_consent_event(consent_world.grant(pid(n), organisation, kid(1),
                                                         end_date=date(2026, 11, 28) if n == 7 else None), deps)
    handlers.apply_consent_event(consent_world.grant(pid(20), organisation, kid(2)), deps)
    seen, token = [], ""
    while True:
        page, token = handlers.list_dossiers(kid(1), 3, token, deps)
        seen += [professional_id for professional_id, _ in page]
        if not token:
            break
    assert seen == [pid(n) for n in range(1, 8)]
    clock.advance(timedelta(days=1))
    assert [p for p, _ in handlers.list_dossiers(kid(1), 50, "", deps)[0]] == [pid(n) for n in range(1, 7)]
    with pytest.raises(handlers.InvalidInput):
        handlers.list_dossiers(kid(1), 3, "garbage!", deps)


def progress_record(number: str, earned: float) -> dict:
    return {"pe_registration_number": number, "period_start": "2025-01-01", "period_end": "2027-12-31",
            "points_required": 60, "points_earned": earned,
            "activities": [{"title": "Ethiek", "provider": "SEU", "completion_date": "2025-05-01",
                            "points": earned, "category": "Integriteit"}]}


def test_a_list_view_logs_each_dossier_it_shows_and_only_under_a_valid_consent_of_that_reader(
        deps, consent_world, organisation, accounts):
    granted = {n: consent_world.grant(pid(n), organisation, kid(1), registration_number=f"PE-{n}") for n in (1, 2, 3)}
    other_contact = consent_world.grant(pid(4), organisation, kid(2), registration_number="PE-4")
    for event in [*granted.values(), other_contact, consent_world.revoke(granted[2].consent.consent_id)]:
        handlers.apply_consent_event(event, deps)
    late = consent_world.grant(pid(5), organisation, kid(1), registration_number="PE-5")  # not delivered by the broker yet
    handlers.ingest_progress([(progress_record(granted[1].consent.pe_registration_number, 12.5), None)], deps)
    accounts.names[pid(1)] = "Fenna Smit"
    grants = ((pid(5), late.consent.consent_id), (pid(3), granted[3].consent.consent_id),
              (pid(2), granted[2].consent.consent_id), (pid(4), other_contact.consent.consent_id),
              (pid(1), granted[1].consent.consent_id))

    dossiers = handlers.batch_get_dossiers(handlers.ListingRequest(pid(80), kid(1), grants), deps)
    assert [(d.professional_id, d.consent_id) for d in dossiers] == [
        (pid(5), late.consent.consent_id), (pid(3), granted[3].consent.consent_id),
        (pid(1), granted[1].consent.consent_id)]           # revoked and another contact's: left out
    first = dossiers[2]
    assert first.display_name == "Fenna Smit" and first.progress.points_earned == 12.5
    assert first.progress.activities == () and dossiers[0].progress is None
    for n, consent in ((1, granted[1]), (3, granted[3]), (5, late)):
        entries, _ = handlers.list_access_log(pid(n), 10, "", deps)
        assert [(e.kind, e.reader_account_id, e.consent_id, e.organisation_id) for e in entries] == \
            [("dossier_listed", pid(80), consent.consent.consent_id, organisation)]
    for n in (2, 4):
        assert handlers.list_access_log(pid(n), 10, "", deps)[0] == []


def test_a_list_view_names_every_field_at_fault_and_is_bounded(deps):
    with pytest.raises(handlers.InvalidInput) as caught:
        handlers.batch_get_dossiers(handlers.ListingRequest("x", kid(1), ((pid(1), "nope"),)), deps)
    assert set(caught.value.violations) == {"reader_account_id", "grants[0].consent_id"}
    for count in (0, 201):
        with pytest.raises(handlers.InvalidInput) as caught:
            handlers.batch_get_dossiers(handlers.ListingRequest(pid(80), kid(1), ((pid(1), pid(2)),) * count), deps)
        assert caught.value.violations == {"grants": "must name 1 to 200 dossiers"}


def test_a_professional_reads_their_own_dossier_unlogged(deps, accounts):
    handlers.ingest_progress([(progress_record("PE-OWN-1", 30), None)], deps)
    accounts.names[pid(1)] = "Fenna Smit"
    dossier = handlers.get_own_dossier(pid(1), "PE-OWN-1", deps)
    assert (dossier.display_name, dossier.pe_registration_number, dossier.consent_id) == ("Fenna Smit", "PE-OWN-1", "")
    assert dossier.progress.points_earned == 30 and dossier.progress.activities[0].title == "Ethiek"
    assert handlers.get_own_dossier(pid(2), "PE-NOTHING-YET", deps).progress is None
    assert handlers.list_access_log(pid(1), 10, "", deps)[0] == []
    with pytest.raises(handlers.InvalidInput) as caught:
        handlers.get_own_dossier("me", " ", deps)
    assert set(caught.value.violations) == {"professional_id", "pe_registration_number"}


def test_a_report_counts_no_consent_to_a_contact_removed_before_it_was_asked(deps, consent_world, organisation,
                                                                            organisations, report_of):
    only_removed = consent_world.grant(pid(1), organisation, kid(1))
    both = [consent_world.grant(pid(2), organisation, kid(1), end_date=date(2029, 1, 31)),
            consent_world.grant(pid(2), organisation, kid(2), end_date=date(2027, 6, 30))]
    for event in (only_removed, *both):
        handlers.apply_consent_event(event, deps)
    organisations.removed.add(kid(1))   # consent has not ended its consents yet: no event arrived

    report = report_of(organisation)
    assert [row["professional_id"] for row in report["professionals"]] == [pid(2)]
    assert report["professionals"][0]["consent_valid_until"] == "2027-06-30"  # the remaining contact's
    assert report["summary"]["professionals"] == 1
    assert handlers.list_access_log(pid(1), 10, "", deps)[0] == []
    included, _ = handlers.list_access_log(pid(2), 10, "", deps)
    assert [e.consent_id for e in included] == [both[1].consent.consent_id]


def test_a_report_waits_for_organisation_to_list_its_contacts(deps, consent_world, organisation, organisations):
    handlers.apply_consent_event(consent_world.grant(pid(1), organisation, kid(1)), deps)
    organisations.down = True
    with pytest.raises(handlers.Unavailable):
        handlers.generate_report(handlers.ReportRequest(organisation, ReportFormat.JSON, pid(90)), deps)


def test_the_access_log_pages_newest_first(deps, consent_world, organisation, clock, report_of):
    granted = consent_world.grant(pid(1), organisation, kid(1))
    handlers.apply_consent_event(granted, deps)
    request = handlers.DossierRequest(pid(1), pid(80), kid(1), granted.consent.consent_id)
    for _ in range(3):
        handlers.get_dossier(request, deps)
        clock.advance(timedelta(minutes=1))
    report_id = report_of(organisation)["report_id"]
    first, token = handlers.list_access_log(pid(1), 2, "", deps)
    rest, last = handlers.list_access_log(pid(1), 2, token, deps)
    assert last == ""
    assert [e.kind for e in first + rest] == ["report_inclusion", "dossier_read", "dossier_read", "dossier_read"]
    assert first[0].report_id == report_id
    times = [e.occurred_at for e in first + rest]
    assert times == sorted(times, reverse=True)


def test_registry_events_are_idempotent_and_an_older_snapshot_changes_nothing(deps):
    record = {"pe_registration_number": "PE-7", "period_start": "2025-01-01", "period_end": "2027-12-31",
              "points_required": 60, "points_earned": 10}
    t1 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert handlers.apply_registry_event("r-1", record, t1, deps) is Outcome.APPLIED
    assert handlers.apply_registry_event("r-1", record, t1, deps) is Outcome.DUPLICATE
    assert handlers.apply_registry_event("r-2", {**record, "points_earned": 20}, t1 + timedelta(days=1),
                                         deps) is Outcome.APPLIED
    assert handlers.apply_registry_event("r-3", {**record, "points_earned": 15}, t1, deps) is Outcome.STALE
    with deps.store.read() as tx:
        assert tx.stored_progress("PE-7").progress.points_earned == 20


def test_ingest_stores_each_good_record_and_names_the_bad_ones(deps):
    good = {"pe_registration_number": "PE-1", "period_start": "2025-01-01", "period_end": "2027-12-31",
            "points_required": 60, "points_earned": 10}
    result = handlers.ingest_progress([(good, None), ({**good, "pe_registration_number": ""}, None),
                                       ({**good, "pe_registration_number": "PE-2"}, None)], deps)
    assert (result.stored, result.unchanged) == (2, 0)
    assert result.rejections == ((1, "pe_registration_number: is required"),)
    again = handlers.ingest_progress([(good, None)], deps)
    assert (again.stored, again.unchanged) == (0, 1)


def test_the_gap_filler_fills_a_hole_that_outlasts_one_check(deps, consent_world, organisation):
    from reporting.consumer import GapFiller
    events = [consent_world.grant(pid(n), organisation, kid(1)) for n in range(1, 5)]
    for event in (events[0], events[2], events[3]):
        handlers.apply_consent_event(event, deps)
    filler = GapFiller(deps)
    filler.check()                       # first sight of the hole: give the broker time
    assert position(deps) == (1, [3, 4])
    filler.check()
    assert position(deps) == (4, []) and model(deps) == consent_world.consents
