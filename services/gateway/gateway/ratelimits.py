"""Per client address limits on the anonymous routes that send mail or hash a password.

Every limit is in the table below, each with its setting; nothing else in the gateway is
limited here (identity itself slows down guessing at one account, from any address). A limit counts every request to its route, well-formed or not.

Counts live in RATE_LIMIT_STORAGE_URL: `memory://` (the default, as `make run` uses) keeps them
in each gunicorn worker, so with two workers an address gets up to twice a limit; `redis://...`
shares them between the workers and replicas of a deployment. When Redis cannot be reached the
workers fall back to counting in memory rather than failing or letting everything through.

The client address is `request.remote_addr`, which the proxy settings (TRUSTED_PROXY_HOPS) make
the address the trusted proxies saw.
"""
from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, request
from flask_limiter import Limit, Limiter, RateLimitExceeded
from limits import parse_many

from gateway.problems import problem
from svckit.config import Env, SettingError
from svckit.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class RouteLimit:
    name: str          # the counter's name, in Redis keys and logs
    method: str
    rule: str          # the route as Flask knows it
    setting: str
    default: str       # limits' notation: "20 per minute;200 per hour"
    why: str


LIMITS = (
    RouteLimit("registrations", "POST", "/api/v1/registrations", "RATE_LIMIT_REGISTRATIONS",
               "5 per hour;20 per day", "mails a password-setup link to any address"),
    RouteLimit("link-requests", "POST", "/api/v1/password-setup-links", "RATE_LIMIT_LINK_REQUESTS",
               "10 per hour;50 per day", "mails a password-setup link to an account's address"),
    RouteLimit("logins", "POST", "/api/v1/sessions", "RATE_LIMIT_LOGINS",
               "20 per minute;200 per hour", "checks a password (brute force across accounts)"),
    RouteLimit("password-setups", "POST", "/api/v1/password-setups", "RATE_LIMIT_PASSWORD_SETUPS",
               "20 per hour", "checks a link token and hashes a new password"),
    RouteLimit("email-confirmations", "POST", "/api/v1/email-changes/confirmations",
               "RATE_LIMIT_EMAIL_CONFIRMATIONS", "20 per hour", "checks a link token"),
)


def load(env: Env) -> dict[str, str]:
    """Each limit's setting, checked: {name: limit string}."""
    found = {}
    for limit in LIMITS:
        value = env.str(limit.setting, limit.default)
        try:
            parse_many(value)
        except ValueError:
            raise SettingError(f"{limit.setting} must be rates such as '20 per minute;200 per hour', "
                               f"got {value!r}") from None
        found[limit.name] = value
    return found


def client_address() -> str:
    return request.remote_addr or "unknown"


def _only(limit: RouteLimit):
    def exempt() -> bool:
        rule = request.url_rule
        return request.method != limit.method or rule is None or rule.rule != limit.rule
    return exempt


def install(app: Flask, limits: Mapping[str, str], *, storage_url: str, key_prefix: str) -> Limiter:
    """Limit the app's routes of LIMITS; every rule in the table must exist in the app."""
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods}
    missing = [f"{limit.method} {limit.rule}" for limit in LIMITS if (limit.method, limit.rule) not in rules]
    if missing:
        raise RuntimeError(f"rate limits name routes the gateway does not have: {', '.join(missing)}")
    limiter = Limiter(
        client_address,
        default_limits=[Limit(limits[limit.name], scope=limit.name, shared=True, exempt_when=_only(limit))
                        for limit in LIMITS],
        storage_uri=storage_url, key_prefix=key_prefix, strategy="moving-window",
        in_memory_fallback_enabled=True)
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def _too_many(error: RateLimitExceeded):
        wait = _seconds_to_wait(limiter, error)
        log.warning("rate limit reached", limit=str(error.limit.limit), path=request.path)
        return problem(429, f"too many requests from your address; try again in {wait} seconds",
                       slug="rate-limited", headers={"Retry-After": str(wait)})

    return limiter


def _seconds_to_wait(limiter: Limiter, error: RateLimitExceeded) -> int:
    """Until the breached limit's window lets one more request through."""
    try:
        current = limiter.current_limit
        if current is not None:
            return max(1, math.ceil(current.window[0] - time.time()))
    except Exception:  # the storage failed between the check and now: the window's length will do
        log.warning("rate limit window unknown", exc_info=True)
    return max(1, error.limit.limit.get_expiry())
