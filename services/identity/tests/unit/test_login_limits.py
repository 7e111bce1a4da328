"""Login limits with a clock that tests move: guessing slows down, the owner is never locked out."""
from datetime import datetime, timedelta, timezone

from identity.domain import LoginFailure, LoginLimits, failures_counted_since, login_refusal

LIMITS = LoginLimits()
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
ATTACKER, OWNER = "198.51.100.7", "203.0.113.9"


def failures(*ages: timedelta, address: str = ATTACKER) -> list[LoginFailure]:
    return [LoginFailure(NOW - age, address) for age in ages]


def test_a_few_failures_are_free():
    assert login_refusal(failures(timedelta(seconds=1), timedelta(seconds=2)), OWNER, NOW, LIMITS) is None


def test_each_failure_past_the_free_ones_doubles_the_wait_for_every_address():
    for count, delay in ((3, 1), (4, 2), (5, 4), (6, 8), (7, 16)):
        recent = [LoginFailure(NOW, f"192.0.2.{n}") for n in range(count)]
        refusal = login_refusal(recent, OWNER, NOW, LIMITS)
        assert (refusal.reason, refusal.retry_after_seconds) == ("LOGIN_SLOWED_DOWN", delay), count
        assert login_refusal(recent, OWNER, NOW + timedelta(seconds=delay), LIMITS) is None


def test_the_wait_never_exceeds_thirty_seconds():
    recent = [LoginFailure(NOW - timedelta(seconds=n), f"192.0.2.{n}") for n in range(60)]
    refusal = login_refusal(recent, OWNER, NOW, LIMITS)
    assert refusal.reason == "LOGIN_SLOWED_DOWN" and refusal.retry_after_seconds == 30
    assert login_refusal(recent, OWNER, NOW + timedelta(seconds=30), LIMITS) is None


def test_an_address_that_keeps_failing_waits_out_its_window_while_the_owner_does_not():
    five = failures(*(timedelta(minutes=m) for m in (1, 2, 3, 4, 10)))
    refusal = login_refusal(five, ATTACKER, NOW, LIMITS)
    # The fifth newest failure of this address leaves the 15-minute window in 5 minutes.
    assert (refusal.reason, refusal.retry_after_seconds) == ("TOO_MANY_ATTEMPTS", 300)
    assert login_refusal(five, OWNER, NOW, LIMITS) is None  # the delay after the newest (1 min ago) is over
    assert login_refusal(five, ATTACKER, NOW + timedelta(minutes=5), LIMITS) is None


def test_failures_older_than_the_window_do_not_slow_anything_down():
    old = failures(*(timedelta(minutes=16 + m) for m in range(10)))
    assert login_refusal(old, ATTACKER, NOW, LIMITS) is None


def test_past_a_hundred_failures_a_day_nothing_is_evaluated_until_a_new_password():
    spread = [LoginFailure(NOW - timedelta(minutes=10 * n + 1), f"192.0.2.{n % 250}") for n in range(100)]
    refusal = login_refusal(spread, OWNER, NOW, LIMITS)
    assert refusal.reason == "PASSWORD_RESET_REQUIRED"
    # Until the oldest of the hundred is a day old.
    assert refusal.retry_after_seconds == int((spread[-1].occurred_at + timedelta(days=1) - NOW).total_seconds())
    assert login_refusal(spread[:99], OWNER, NOW, LIMITS) is None


def test_a_login_or_a_new_password_starts_the_count_again():
    login, new_password = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    assert failures_counted_since(NOW) == NOW - timedelta(days=1)
    assert failures_counted_since(NOW, login, None) == login
    assert failures_counted_since(NOW, login, new_password) == new_password
