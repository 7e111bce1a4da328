"""Settings of the web pages, from the environment, with defaults that run locally."""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from svckit.config import Env, SettingError, development


@dataclass(frozen=True)
class Settings:
    port: int
    bind_host: str
    threads: int
    gateway_url: str
    public_url: str
    secret_key: str
    session_store_url: str
    session_hours: int
    gateway_timeout_seconds: float
    trusted_proxy_hops: int
    log_level: str

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https:")


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(environ)
    port = env.port("WEB_PORT", 8000)
    return Settings(
        port=port,
        bind_host=env.str("WEB_BIND_HOST", "127.0.0.1"),
        threads=env.int("WEB_THREADS", 8, minimum=1, maximum=256),
        gateway_url=env.url("GATEWAY_URL", "http://127.0.0.1:8080", ("http", "https")).rstrip("/"),
        # Where people reach these pages; the mails' links point here (the services' PUBLIC_URL).
        public_url=env.url("PUBLIC_URL", f"http://127.0.0.1:{port}", ("http", "https")).rstrip("/"),
        secret_key=_secret_key(env),
        # Where the sessions (and with them the gateway's tokens) are kept: memory:// in this one
        # process, or redis://host:6379/0 to share them between processes and replicas.
        session_store_url=env.url("WEB_SESSION_STORE_URL", "memory://", ("memory", "redis", "rediss")),
        session_hours=env.int("WEB_SESSION_HOURS", 8, minimum=1, maximum=24 * 30),
        gateway_timeout_seconds=env.float("GATEWAY_TIMEOUT_SECONDS", 30.0, minimum=1.0),
        # Proxies in front of the pages (nginx, an ingress controller) whose X-Forwarded-For is believed:
        # the person's address, passed on to the gateway, is the one the outermost of them saw.
        trusted_proxy_hops=env.int("TRUSTED_PROXY_HOPS", 0, minimum=0, maximum=10),
        log_level=env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
    )


def _secret_key(env: Env) -> str:
    """Signs the session cookie and the forms' CSRF tokens: WEB_SECRET_KEY, or WEB_SECRET_KEY_FILE (a
    file holding it, such as a mounted secret). Made per start on a developer's machine (sessions then
    end with the process); required elsewhere, so that replicas agree."""
    key, path = env.str("WEB_SECRET_KEY", ""), env.str("WEB_SECRET_KEY_FILE", "")
    if not key and path:
        try:
            key = Path(path).read_text().strip()
        except OSError as error:
            raise SettingError(f"WEB_SECRET_KEY_FILE {path} cannot be read: {error.strerror}") from None
    if key:
        if len(key) < 32:
            raise SettingError("WEB_SECRET_KEY must be at least 32 characters")
        return key
    if not development(env):
        raise SettingError("WEB_SECRET_KEY is missing (at least 32 random characters); "
                           "only DEVELOPMENT=1 makes one per start")
    return secrets.token_urlsafe(32)
