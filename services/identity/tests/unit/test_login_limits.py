"""Login limits with a clock that tests move: locks come, and always go."""
from datetime import datetime, timedelta, timezone

from identity.domain import (LoginLimits, account_lock_retry_after, address_retry_after,
                             failures_counted_since, lock_after_failure)
from svckit.clock import ManualClock

LIMITS = LoginLimits()


def test_the_fifth_failure_in_the_window_locks_for_fifteen_minutes():
    clock = ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc))
    failures = []
    lock_end = None
    for _ in range(5):
        clock.advance(timedelta(minutes=2))
        failures.append(clock.now())
        since = failures_counted_since(clock.now(), LIMITS.account_window, lock_end)
        lock_end = lock_after_failure(sum(1 for t in failures if t >= since), LIMITS.account_max_failures,
                                      clock.now(), LIMITS.account_lock) or lock_end
    fifth = failures[-1]
    assert lock_end == fifth + timedelta(minutes=15)
    assert account_lock_retry_after(lock_end, clock.now()) == 900
    clock.advance(timedelta(minutes=14, seconds=59, microseconds=1))
    assert account_lock_retry_after(lock_end, clock.now()) == 1
    clock.advance(timedelta(microseconds=999999))
    assert account_lock_retry_after(lock_end, clock.now()) is None


def test_failures_spread_wider_than_the_window_do_not_lock():
    now = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
    since = failures_counted_since(now, LIMITS.account_window)
    failures = [now - timedelta(minutes=m) for m in (0, 4, 8, 12, 16)]
    assert lock_after_failure(sum(1 for t in failures if t >= since), 5, now, LIMITS.account_lock) is None


def test_failures_before_a_lock_ended_or_a_login_do_not_count_again():
    now = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
    lock_end, login = now - timedelta(minutes=2), now - timedelta(minutes=1)
    assert failures_counted_since(now, LIMITS.account_window, lock_end, None) == lock_end
    assert failures_counted_since(now, LIMITS.account_window, lock_end, login) == login
    assert failures_counted_since(now, LIMITS.account_window, None, None) == now - timedelta(minutes=15)


def test_an_address_waits_until_its_twentieth_newest_failure_leaves_the_window():
    clock = ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc))
    failures = []
    for _ in range(20):
        failures.append(clock.now())
        clock.advance(timedelta(seconds=30))
    assert address_retry_after(failures[:19], clock.now(), 20, LIMITS.address_window) is None
    # 20 failures, the oldest 10 minutes ago: 5 more minutes to wait.
    assert address_retry_after(failures, clock.now(), 20, LIMITS.address_window) == 300
    clock.advance(timedelta(minutes=5))
    assert address_retry_after(failures, clock.now(), 20, LIMITS.address_window) is None
