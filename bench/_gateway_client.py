"""HTTP clients of a running gateway for the benchmarks that drive a whole stack (logins,
gateway_security): each client thread on a kept-alive connection of its own, as a browser keeps one.

The standard library's client, because the clients share the machine's cores with the stack and
`requests` costs about a millisecond of CPU per call, which would be charged to the stack.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit


def connect(gateway_url: str) -> http.client.HTTPConnection:
    address = urlsplit(gateway_url)
    return http.client.HTTPConnection(address.hostname, address.port, timeout=30)


def timed(task: Callable[[], bool], count: int, workers: int) -> float:
    """Seconds for `count` calls of task, `workers` at a time; every call must answer True."""
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for result in pool.map(lambda _: task(), range(count)):
            assert result
    return time.perf_counter() - started


def password_login(gateway_url: str, username: str, password: str) -> Callable[[], bool]:
    """A task that logs `username` in (POST /api/v1/sessions) on its thread's connection; True on 201.
    Three logins are made at once, so the first measured one finds the gateway's channels open."""
    body = json.dumps({"username": username, "password": password})
    headers = {"Content-Type": "application/json"}
    local = threading.local()

    def login() -> bool:
        if not hasattr(local, "connection"):
            local.connection = connect(gateway_url)
        local.connection.request("POST", "/api/v1/sessions", body=body, headers=headers)
        response = local.connection.getresponse()
        response.read()
        return response.status == 201
    for _ in range(3):
        assert login()
    return login
