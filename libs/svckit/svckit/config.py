"""Settings from the environment.

Every service describes its settings as a frozen dataclass built by a `load(environ)`
function using `Env`. A missing or malformed setting raises `SettingError` whose message
is one line naming the variable, so a process can fail at start with that line alone.
"""
from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


class SettingError(Exception):
    """A setting is missing or malformed; str(error) is one line that names it."""


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None):
        self._environ = os.environ if environ is None else environ

    def _raw(self, name: str, default: str | None) -> str:
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            if default is None:
                raise SettingError(f"{name} is not set")
            return default
        return value.strip()

    def str(self, name: str, default: str | None = None) -> str:
        return self._raw(name, default)

    def int(self, name: str, default: int | None = None, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
        raw = self._raw(name, None if default is None else str(default))
        try:
            value = int(raw)
        except ValueError:
            raise SettingError(f"{name} must be a whole number, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise SettingError(f"{name} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise SettingError(f"{name} must be at most {maximum}, got {value}")
        return value

    def float(self, name: str, default: float | None = None, *, minimum: float = 0.0,
              maximum: float | None = None) -> float:
        raw = self._raw(name, None if default is None else repr(default))
        try:
            value = float(raw)
        except ValueError:
            raise SettingError(f"{name} must be a number, got {raw!r}") from None
        if value < minimum:
            raise SettingError(f"{name} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise SettingError(f"{name} must be at most {maximum}, got {value}")
        return value

    def port(self, name: str, default: int) -> int:
        return self.int(name, default, minimum=1, maximum=65535)

    def address(self, name: str, default: str | None = None) -> str:
        """A host:port address of another service."""
        raw = self._raw(name, default)
        host, sep, port = raw.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingError(f"{name} must be host:port, got {raw!r}")
        return raw

    def host(self, name: str, default: str | None = None) -> str:
        """A host name or IP address to listen on (an IPv6 address with or without brackets)."""
        raw = self._raw(name, default)
        bare = raw.removeprefix("[").removesuffix("]")
        try:
            return str(ipaddress.ip_address(bare))
        except ValueError:
            pass
        if not _HOST_NAME.fullmatch(raw):
            raise SettingError(f"{name} must be a host name or an IP address, got {raw!r}")
        return raw

    def url(self, name: str, default: str | None, schemes: tuple[str, ...]) -> str:
        raw = self._raw(name, default)
        scheme = urlsplit(raw).scheme
        if scheme not in schemes:
            allowed = ", ".join(schemes)
            raise SettingError(f"{name} must be a URL starting with one of {allowed}, got {mask_url(raw)!r}")
        return raw

    def email(self, name: str, default: str | None = None) -> str:
        """An e-mail address, such as the sender of a service's mail."""
        value = self._raw(name, default)
        local, at, domain = value.partition("@")
        if not at or not local or not domain or any(ch.isspace() or ch in "<>," for ch in value):
            raise SettingError(f"{name} must be an e-mail address, got {value!r}")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self._raw(name, default)
        if raw not in choices:
            raise SettingError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return raw


def mask_url(url: str) -> str:
    """The URL with its password replaced, fit for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def database_url(env: Env, service: str, var_dir: str) -> str:
    """DATABASE_URL, or an SQLite file of this service under var/ by default."""
    default = f"sqlite:///{os.path.join(var_dir, service + '.db')}"
    url = env.url("DATABASE_URL", default, ("sqlite", "postgresql", "postgresql+psycopg"))
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def process_settings(env: Env, service: str, *, grpc_port: int, metrics_port: int) -> dict:
    """The settings every service process reads, by the field names the services' Settings use."""
    bind_host = env.host("GRPC_BIND_HOST", "127.0.0.1")
    return dict(
        grpc_port=env.port("GRPC_PORT", grpc_port),
        metrics_port=env.port("METRICS_PORT", metrics_port),
        database_url=database_url(env, service, env.str("VAR_DIR", "var")),
        log_level=env.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
        drain_seconds=env.float("DRAIN_SECONDS", 10.0),
        # Loopback unless told otherwise: containers, whose peers are elsewhere, say 0.0.0.0.
        bind_host=bind_host,
        metrics_bind_host=env.host("METRICS_BIND_HOST", bind_host),
        reflection=env.choice("GRPC_REFLECTION", "0", ("0", "1")) == "1",
        tls=tls_files(env, service),
        # 0 where a one-shot `python -m <service> migrate` runs before the replicas start: they
        # then only check that the schema is up to date. With 1 each replica migrates at start,
        # in turn (svckit.db.upgrade).
        migrate_on_start=env.choice("MIGRATE_ON_START", "1", ("0", "1")) == "1",
    )


@dataclass(frozen=True)
class TlsFiles:
    """Where a process's TLS material is; svckit.tls.load reads and checks it when the process starts."""
    process: str
    ca_file: str
    cert_file: str
    key_file: str


def tls_files(env: Env, process: str) -> TlsFiles | None:
    """TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE of `process`, by default those `make run` makes
    under VAR_DIR/tls; None when GRPC_TLS=off, which only a developer's machine may say (the
    benchmark that weighs what mutual TLS costs): without TLS, peers have no names to check."""
    if env.choice("GRPC_TLS", "on", ("on", "off")) == "off":
        if not development(env):
            raise SettingError("GRPC_TLS=off is allowed only with DEVELOPMENT=1")
        return None
    folder = os.path.join(env.str("VAR_DIR", "var"), "tls")
    return TlsFiles(process=process,
                    ca_file=env.str("TLS_CA_FILE", os.path.join(folder, "ca.crt")),
                    cert_file=env.str("TLS_CERT_FILE", os.path.join(folder, f"{process}.crt")),
                    key_file=env.str("TLS_KEY_FILE", os.path.join(folder, f"{process}.key")))


def development(env: Env) -> bool:
    """DEVELOPMENT=1: a developer's machine (make run, the system tests). It allows what a
    deployment must never do, such as a moved clock or gRPC without TLS; nothing else reads it."""
    return env.choice("DEVELOPMENT", "0", ("0", "1")) == "1"


def clock_offset_seconds(env: Env) -> float:
    """CLOCK_OFFSET_SECONDS moves the process's clock (demos, tests in which a day must pass);
    refused outside development, where a moved clock would let consents outlive their end."""
    offset = env.float("CLOCK_OFFSET_SECONDS", 0.0)
    if offset != 0.0 and not development(env):
        raise SettingError("CLOCK_OFFSET_SECONDS is allowed only with DEVELOPMENT=1")
    return offset


DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def amqp_url(env: Env) -> str:
    return env.url("AMQP_URL", DEFAULT_AMQP_URL, ("amqp", "amqps"))
