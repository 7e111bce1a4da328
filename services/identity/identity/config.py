"""Settings of the identity service, from the environment, with defaults that run locally."""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from identity.domain import LoginLimits
from svckit.config import (DEFAULT_AMQP_URL, Env, SettingError, TlsFiles, amqp_url, clock_offset_seconds,
                           development, process_settings)


_MAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class Settings:
    grpc_port: int
    metrics_port: int
    database_url: str
    smtp_host: str
    smtp_port: int
    log_level: str
    drain_seconds: float
    bind_host: str
    metrics_bind_host: str
    reflection: bool
    tls: TlsFiles | None
    migrate_on_start: bool
    public_url: str = "http://127.0.0.1:8080"
    mail_from: str = "noreply@pe-insight.local"
    link_ttl: timedelta = timedelta(hours=72)
    access_token_ttl: timedelta = timedelta(minutes=10)
    refresh_token_ttl: timedelta = timedelta(hours=12)
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    link_mails_per_hour: int = 3
    email_change_ttl: timedelta = timedelta(hours=24)
    amqp_url: str = DEFAULT_AMQP_URL
    clock_offset_seconds: float = 0.0
    argon2_max_concurrent: int = 0  # 0: one per usable CPU
    # The key that encrypts the token-signing keys, given or in a file (see _signing_kek).
    signing_kek: str | None = field(default=None, repr=False)
    signing_kek_file: str | None = None
    var_dir: str = "var"
    development: bool = False


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    signing_kek, signing_kek_file = _signing_kek(env)
    return Settings(
        **process_settings(env, "identity", grpc_port=50051, metrics_port=9101),
        smtp_host=env.str("SMTP_HOST", "127.0.0.1"),
        smtp_port=env.port("SMTP_PORT", 1025),
        public_url=env.url("PUBLIC_URL", "http://127.0.0.1:8080", ("http", "https")).rstrip("/"),
        mail_from=env.email("MAIL_FROM", "noreply@pe-insight.local"),
        link_ttl=timedelta(hours=env.int("LINK_TTL_HOURS", 72, minimum=1, maximum=24 * 30)),
        # The gateway checks each token's session live; a short life still bounds a stolen token.
        access_token_ttl=timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", 10, minimum=1, maximum=15)),
        refresh_token_ttl=timedelta(hours=env.int("REFRESH_TOKEN_HOURS", 12, minimum=1, maximum=24 * 30)),
        clock_offset_seconds=clock_offset_seconds(env),
        # How many password hashes run at once; more wait their turn (see passwords.Argon2Hasher).
        argon2_max_concurrent=env.int("ARGON2_MAX_CONCURRENT", 0, minimum=0, maximum=1024),
        login_limits=LoginLimits(
            failures_per_address=env.int("LOGIN_FAILURES_PER_ADDRESS", 5, minimum=1, maximum=1000),
            window=timedelta(minutes=env.int("LOGIN_FAILURE_WINDOW_MINUTES", 15, minimum=1, maximum=24 * 60)),
            free_failures=env.int("LOGIN_FREE_FAILURES", 3, minimum=1, maximum=100),
            # Bounded, so that nobody can keep the owner waiting long (NIST SP 800-63B 5.2.2).
            max_delay=timedelta(seconds=env.int("LOGIN_MAX_DELAY_SECONDS", 30, minimum=1, maximum=30)),
            failures_per_day=env.int("LOGIN_FAILURES_PER_DAY", 100, minimum=1, maximum=100),
        ),
        link_mails_per_hour=env.int("LINK_MAILS_PER_HOUR", 3, minimum=1, maximum=100),
        email_change_ttl=timedelta(hours=env.int("EMAIL_CHANGE_TTL_HOURS", 24, minimum=1, maximum=72)),
        amqp_url=amqp_url(env),
        signing_kek=signing_kek, signing_kek_file=signing_kek_file,
        var_dir=env.str("VAR_DIR", "var"),
        development=development(env),
    )


def _signing_kek(env: Env) -> tuple[str | None, str | None]:
    """The key that encrypts the signing keys: SIGNING_KEY_ENCRYPTION_KEY (base64url of 32 bytes) or
    SIGNING_KEY_ENCRYPTION_KEY_FILE (a file holding it, such as a mounted secret). The service needs one
    outside development (see __main__.signing_keys); commands that sign nothing do not."""
    text, path = env.str("SIGNING_KEY_ENCRYPTION_KEY", ""), env.str("SIGNING_KEY_ENCRYPTION_KEY_FILE", "")
    if text and not _is_key_text(text):
        raise SettingError("SIGNING_KEY_ENCRYPTION_KEY must be 32 random bytes in base64url "
                           "(python -m identity new-key-encryption-key prints one)")
    return text or None, path or None


def _is_key_text(text: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))) == 32
    except (ValueError, binascii.Error):
        return False
