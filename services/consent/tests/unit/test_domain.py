"""The rules of a consent, with the clock at and around the end of the end date in Amsterdam."""
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from consent import domain
from consent.domain import AMSTERDAM, Consent, ConsentNotActive, EndDateInPast, Reason, State

UTC = timezone.utc
MICROSECOND = timedelta(microseconds=1)


def _consent(end_date, now=datetime(2027, 1, 4, 9, tzinfo=UTC)) -> Consent:
    return domain.grant(professional_id="p", pe_registration_number="PE1", organisation_id="o", contact_id="c",
                        end_date=end_date, now=now)


@pytest.mark.parametrize("end_date, last_local_day_ends_utc", [
    (date(2027, 1, 31), datetime(2027, 1, 31, 23, tzinfo=UTC)),      # winter: UTC+1
    (date(2027, 7, 15), datetime(2027, 7, 15, 22, tzinfo=UTC)),      # summer: UTC+2
    (date(2027, 3, 28), datetime(2027, 3, 28, 22, tzinfo=UTC)),      # clocks go forward: a 23-hour day
    (date(2027, 3, 27), datetime(2027, 3, 27, 23, tzinfo=UTC)),      # the day before it, still winter
    (date(2027, 10, 31), datetime(2027, 10, 31, 23, tzinfo=UTC)),    # clocks go back: a 25-hour day
    (date(2027, 10, 30), datetime(2027, 10, 30, 22, tzinfo=UTC)),    # the day before it, still summer
    (date(2027, 12, 31), datetime(2027, 12, 31, 23, tzinfo=UTC)),
])
def test_an_end_date_holds_through_the_last_instant_of_that_day_in_amsterdam(end_date, last_local_day_ends_utc):
    consent = _consent(end_date)
    assert consent.valid_until == last_local_day_ends_utc
    last_instant = last_local_day_ends_utc - MICROSECOND
    assert last_instant.astimezone(AMSTERDAM).date() == end_date
    assert (last_instant.astimezone(AMSTERDAM).hour, last_instant.astimezone(AMSTERDAM).minute,
            last_instant.astimezone(AMSTERDAM).second) == (23, 59, 59)
    assert consent.is_valid(last_instant)
    assert consent.is_valid(last_instant - timedelta(seconds=1))
    assert not consent.is_valid(last_local_day_ends_utc)
    assert not consent.is_valid(last_local_day_ends_utc + timedelta(hours=5))
    assert consent.has_lapsed(last_local_day_ends_utc)


def test_the_dst_days_are_23_and_25_hours_long():
    spring, autumn = _consent(date(2027, 3, 28)), _consent(date(2027, 10, 31))
    assert spring.valid_until - _consent(date(2027, 3, 27)).valid_until == timedelta(hours=23)
    assert autumn.valid_until - _consent(date(2027, 10, 30)).valid_until == timedelta(hours=25)


def test_without_end_date_a_consent_holds_until_it_ends():
    consent = _consent(None)
    assert consent.valid_until is None
    assert consent.is_valid(datetime(2099, 1, 1, tzinfo=UTC))


def test_today_is_allowed_as_end_date_yesterday_is_not():
    now = datetime(2027, 6, 1, 12, tzinfo=UTC)
    domain.check_end_date(date(2027, 6, 1), now)
    with pytest.raises(EndDateInPast):
        domain.check_end_date(date(2027, 5, 31), now)


def test_today_is_the_date_in_amsterdam_not_in_utc():
    late_evening_utc = datetime(2027, 1, 4, 23, 30, tzinfo=UTC)  # already 5 January in Amsterdam
    assert domain.local_today(late_evening_utc) == date(2027, 1, 5)
    with pytest.raises(EndDateInPast):
        domain.check_end_date(date(2027, 1, 4), late_evening_utc)
    summer_just_after_midnight = datetime(2027, 7, 14, 22, 0, 1, tzinfo=UTC)  # 15 July 00:00:01 there
    assert domain.local_today(summer_just_after_midnight) == date(2027, 7, 15)


def test_granting_with_an_end_date_in_the_past_is_refused():
    with pytest.raises(EndDateInPast):
        _consent(date(2027, 1, 3), now=datetime(2027, 1, 4, 9, tzinfo=UTC))


def test_a_grant_starts_active_at_sequence_one():
    consent = _consent(date(2027, 2, 1))
    assert (consent.state, consent.sequence, consent.end_time, consent.end_reason) == (State.ACTIVE, 1, None, None)


def test_changing_the_end_date_extends_shortens_and_removes_it():
    now = datetime(2027, 1, 4, 9, tzinfo=UTC)
    consent = _consent(date(2027, 2, 1), now)
    longer = consent.change_end_date(date(2027, 12, 31), now)
    shorter = longer.change_end_date(date(2027, 1, 4), now)
    endless = shorter.change_end_date(None, now)
    assert [c.end_date for c in (longer, shorter, endless)] == [date(2027, 12, 31), date(2027, 1, 4), None]
    assert [c.sequence for c in (consent, longer, shorter, endless)] == [1, 2, 3, 4]
    with pytest.raises(EndDateInPast):
        consent.change_end_date(date(2027, 1, 3), now)


def test_revocation_ends_it_now_and_only_once():
    now = datetime(2027, 1, 4, 9, tzinfo=UTC)
    revoked = _consent(None, now).revoke(now + timedelta(minutes=5))
    assert (revoked.state, revoked.end_reason, revoked.end_time, revoked.sequence) == (
        State.REVOKED, Reason.REVOKED, now + timedelta(minutes=5), 2)
    assert not revoked.is_valid(now + timedelta(minutes=5))
    with pytest.raises(ConsentNotActive):
        revoked.revoke(now + timedelta(minutes=6))
    with pytest.raises(ConsentNotActive):
        revoked.change_end_date(None, now + timedelta(minutes=6))


def test_a_consent_past_its_end_date_is_not_active_before_the_job_marks_it():
    consent = _consent(date(2027, 1, 4))
    after = datetime(2027, 1, 4, 23, tzinfo=UTC)  # midnight in Amsterdam
    assert consent.state is State.ACTIVE and consent.has_lapsed(after)
    with pytest.raises(ConsentNotActive):
        consent.revoke(after)
    with pytest.raises(ConsentNotActive):
        consent.change_end_date(date(2027, 2, 1), after)


def test_expiry_records_the_end_of_the_end_date_not_when_the_job_ran():
    consent = _consent(date(2027, 1, 4))
    with pytest.raises(ConsentNotActive):
        consent.expire(datetime(2027, 1, 4, 22, 59, tzinfo=UTC))
    expired = consent.expire(datetime(2027, 1, 9, tzinfo=UTC))
    assert (expired.state, expired.end_reason, expired.end_time, expired.sequence) == (
        State.EXPIRED, Reason.EXPIRED, datetime(2027, 1, 4, 23, tzinfo=UTC), 2)


def test_a_system_end_of_a_lapsed_consent_records_its_expiry():
    consent = _consent(date(2027, 1, 4))
    ended = consent.end_by_system(Reason.CONTACT_REMOVED, datetime(2027, 1, 4, 12, tzinfo=UTC))
    assert (ended.state, ended.end_reason) == (State.ENDED, Reason.CONTACT_REMOVED)
    late = consent.end_by_system(Reason.ORGANISATION_SUSPENDED, datetime(2027, 1, 6, tzinfo=UTC))
    assert (late.state, late.end_reason) == (State.EXPIRED, Reason.EXPIRED)


def test_each_kind_of_change_has_its_event_type():
    now = datetime(2027, 1, 4, 9, tzinfo=UTC)
    consent = _consent(None, now)
    ended = consent.end_by_system(Reason.ORGANISATION_SUSPENDED, now)
    change = domain.ConsentChanged(ended, domain.change_kind_for(ended), now)
    assert (change.event_type, change.routing_key, change.reason) == (
        "pe.consent.revoked.v1", "consent.revoked", Reason.ORGANISATION_SUSPENDED)
    granted = domain.ConsentChanged(consent, domain.ChangeKind.GRANTED, now)
    assert (granted.event_type, granted.routing_key, granted.reason) == (
        "pe.consent.granted.v1", "consent.granted", None)


instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31),
                        timezones=st.just(UTC))
dates = st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31))


@settings(database=None)
@given(now=instants, end_date=dates)
def test_valid_exactly_while_the_amsterdam_date_is_not_after_the_end_date(now, end_date):
    consent = _consent(end_date, now=datetime(2025, 12, 31, tzinfo=UTC))
    assert consent.is_valid(now) == (now.astimezone(AMSTERDAM).date() <= end_date)
