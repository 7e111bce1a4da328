"""A RabbitMQ virtual host of its own for each test stack.

The services' exchanges and queues have fixed names (pe.consent, reporting.consent-events, ...),
so stacks sharing one broker would read each other's events. Each stack therefore gets a fresh
vhost on the local broker, made with rabbitmqctl and deleted afterwards.
"""
from __future__ import annotations

import shutil
import subprocess
import uuid
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def isolated_vhost(amqp_url: str):
    """Yield an AMQP URL on a new vhost of the same broker, granted to the URL's user."""
    parts = urlsplit(amqp_url)
    if shutil.which("rabbitmqctl") is None or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise RuntimeError("system tests need the local RabbitMQ and rabbitmqctl to give each stack its own vhost")
    vhost = f"pe-test-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*")
        yield urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))
    finally:
        _rabbitmqctl("delete_vhost", vhost)
