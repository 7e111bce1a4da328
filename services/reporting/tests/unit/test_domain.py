"""The read model's rules: validity around the end of the Amsterdam day, ordering of events and log
positions, PE progress and 'on track', and a report that knows only the consenting."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from reporting.domain import (AMSTERDAM, Consent, ConsentEvent, ConsentState, InvalidInput, Progress,
                              ProgressStatus, advance_position, check_progress, elapsed_fraction, end_of_validity,
                              is_valid, local_date, progress_percent, progress_status, report_filename,
                              report_rows, summarise, supersedes)
from svckit.clock import ManualClock

UTC = timezone.utc
ORG, OTHER_ORG = "org-1", "org-2"


def consent(consent_id="c1", professional="p1", *, organisation=ORG, contact="k1", end=None,
            state=ConsentState.ACTIVE, sequence=1, number=None, valid_from=datetime(2026, 1, 1, tzinfo=UTC)):
    return Consent(consent_id, professional, number or f"PE-{professional}", organisation, contact, valid_from, end,
                   state, None, sequence)


def progress(number="PE-p1", *, start=date(2025, 1, 1), end=date(2027, 12, 31), required=60.0, earned=30.0,
             submitted=None):
    return Progress(number, start, end, required, earned, submitted)


# --------------------------------------------------------------------------- validity


@pytest.mark.parametrize("end_date, last_valid_utc", [
    (date(2027, 3, 31), datetime(2027, 3, 31, 21, 59, 59, 999999, tzinfo=UTC)),   # summer time: UTC+2
    (date(2027, 1, 31), datetime(2027, 1, 31, 22, 59, 59, 999999, tzinfo=UTC)),   # winter time: UTC+1
    (date(2026, 10, 25), datetime(2026, 10, 25, 22, 59, 59, 999999, tzinfo=UTC)),  # the day clocks go back
])
def test_an_end_date_holds_through_the_last_instant_of_that_day_in_amsterdam(end_date, last_valid_utc):
    clock = ManualClock(last_valid_utc)
    held = consent(end=end_date)
    assert is_valid(held, clock.now())
    clock.advance(timedelta(microseconds=1))
    assert not is_valid(held, clock.now())
    assert end_of_validity(end_date) == clock.now()
    assert clock.now().astimezone(AMSTERDAM).time().isoformat() == "00:00:00"


def test_a_consent_without_end_date_holds_until_it_is_ended():
    now = datetime(2099, 1, 1, tzinfo=UTC)
    assert is_valid(consent(end=None), now)
    for state in (ConsentState.REVOKED, ConsentState.EXPIRED, ConsentState.ENDED):
        assert not is_valid(consent(end=None, state=state), now)


def test_local_date_is_the_amsterdam_date():
    assert local_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == date(2027, 1, 1)
    assert local_date(datetime(2026, 12, 31, 22, 30, tzinfo=UTC)) == date(2026, 12, 31)


# --------------------------------------------------------------------------- events and positions


def test_only_a_higher_sequence_supersedes_what_is_stored():
    stored = consent(sequence=2)
    assert supersedes(ConsentEvent("e", "t", consent(sequence=3)), stored)
    assert not supersedes(ConsentEvent("e", "t", consent(sequence=2)), stored)
    assert not supersedes(ConsentEvent("e", "t", consent(sequence=1)), stored)
    assert supersedes(ConsentEvent("e", "t", consent(sequence=5)), None)


def test_applied_through_waits_for_a_gap_to_fill_and_then_absorbs_what_followed():
    through, pending = 0, []
    for position in (1, 2, 5, 4, 7):
        change = advance_position(through, pending, position)
        through = change.applied_through
        pending = sorted(set(pending) - set(change.remove_pending) | ({change.add_pending} - {None}))
    assert (through, pending) == (2, [4, 5, 7])
    change = advance_position(through, pending, 3)
    assert change.applied_through == 5 and change.remove_pending == (4, 5)


def test_a_position_already_counted_changes_nothing():
    assert advance_position(5, [7], 3).applied_through == 5
    assert advance_position(5, [7], 7) == advance_position(5, [7], None)


# --------------------------------------------------------------------------- progress


def test_on_track_means_earned_at_least_required_times_elapsed_share():
    record = progress(start=date(2025, 1, 1), end=date(2025, 12, 31), required=365.0, earned=100.0)
    assert progress_status(record, date(2025, 4, 10)) is ProgressStatus.ON_TRACK     # day 100: 100 expected
    assert progress_status(record, date(2025, 4, 11)) is ProgressStatus.BEHIND      # day 101
    assert progress_status(record, date(2024, 6, 1)) is ProgressStatus.ON_TRACK     # before the period
    assert progress_status(progress(earned=59.9), date(2028, 1, 1)) is ProgressStatus.BEHIND  # after it
    assert progress_status(progress(earned=0, submitted=date(2027, 1, 1)), date(2027, 2, 1)) \
        is ProgressStatus.DOSSIER_SUBMITTED
    assert progress_status(None, date(2027, 1, 1)) is ProgressStatus.NO_DATA


def test_elapsed_share_and_percent():
    assert elapsed_fraction(date(2025, 1, 1), date(2025, 1, 10), date(2025, 1, 5)) == 0.5
    assert progress_percent(progress(required=60, earned=45)) == 75.0
    assert progress_percent(progress(required=60, earned=75)) == 125.0
    assert progress_percent(progress(required=0, earned=0)) == 100.0


def test_progress_checks_name_every_bad_field():
    with pytest.raises(InvalidInput) as caught:
        check_progress({"pe_registration_number": "bad number!", "period_start": "2025-13-01",
                        "period_end": "2024-01-01", "points_required": "x", "points_earned": -1,
                        "activities": [{"title": "", "completion_date": "31-02-2025", "points": 1},
                                       {"title": "ok", "completion_date": "01-03-2025", "points": "2,5"}]})
    assert set(caught.value.violations) == {
        "pe_registration_number", "period_start", "points_required", "points_earned",
        "activities[0].title", "activities[0].completion_date"}


def test_progress_accepts_dutch_dates_and_decimal_commas_and_fingerprints_content():
    record = check_progress({"pe_registration_number": "PE-1", "period_start": "01-01-2025",
                             "period_end": "2027-12-31", "points_required": "60", "points_earned": "12,5",
                             "activities": [{"title": "B", "completion_date": "2025-03-02", "points": 2},
                                            {"title": "A", "completion_date": "2025-03-01", "points": 1}]})
    assert record.period_start == date(2025, 1, 1) and record.points_earned == 12.5
    assert [a.title for a in record.activities] == ["A", "B"]  # kept in date order
    same = check_progress({**record.as_dict(), "activities": list(reversed(record.as_dict()["activities"]))})
    assert same.fingerprint() == record.fingerprint()
    assert check_progress({**record.as_dict(), "points_earned": 13}).fingerprint() != record.fingerprint()


# --------------------------------------------------------------------------- the report


def test_rows_are_one_per_professional_with_the_latest_validity_and_no_one_else():
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    consents = [
        consent("a1", "p1", contact="k1", end=date(2027, 1, 31)),
        consent("a2", "p1", contact="k2", end=date(2027, 6, 30)),          # p1 twice: one row, latest end
        consent("b1", "p2", contact="k1", end=None),
        consent("b2", "p2", contact="k2", end=date(2030, 1, 1)),          # any without end: 'no end date'
        consent("c1", "p3", state=ConsentState.REVOKED),                   # revoked: absent
        consent("d1", "p4", end=date(2026, 11, 27)),                       # ended yesterday: absent
        consent("e1", "p5", organisation=OTHER_ORG),                       # selected by mistake: still valid
    ]
    rows = report_rows([c for c in consents if c.organisation_id == ORG], {"PE-p1": progress("PE-p1")},
                       {"p1": "Bea", "p2": "Abe"}, now)
    assert [(r.professional_id, r.display_name, r.valid_until) for r in rows] == [
        ("p2", "Abe", None), ("p1", "Bea", date(2027, 6, 30))]
    assert rows[1].consent_id == "a2" and rows[1].consent_ids == ("a1", "a2")
    assert rows[0].status is ProgressStatus.NO_DATA and rows[1].percent == 50.0


def test_summary_never_counts_professionals_without_a_valid_consent():
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    records = {f"PE-p{i}": progress(f"PE-p{i}", earned=0.0) for i in range(10)}   # all behind
    consents = [consent(f"c{i}", f"p{i}", state=ConsentState.ACTIVE if i < 3 else ConsentState.REVOKED)
                for i in range(10)]
    summary = summarise(report_rows(consents, records, {}, now))
    assert summary.as_dict() == {"professionals": 3, "on_track": 0, "behind": 3, "dossier_submitted": 0,
                                 "no_data": 0}
    assert summarise([]).as_dict() == {"professionals": 0, "on_track": 0, "behind": 0, "dossier_submitted": 0,
                                       "no_data": 0}


def test_report_filename_is_a_slug_and_the_amsterdam_date():
    moment = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert report_filename("Zorg & Welzijn B.V. (Noord)", "x", moment, "pdf") == \
        "pe-overview-zorg-welzijn-b-v-noord-2027-01-01.pdf"
    assert report_filename("Ćevapi Één", "x", moment, "xlsx") == "pe-overview-cevapi-een-2027-01-01.xlsx"
    assert report_filename("!!!", "abcdef12-rest", moment, "json") == "pe-overview-abcdef12-2027-01-01.json"
