"""logins: password logins per second through the gateway, beside the raw Argon2id verify rate.

The whole stack runs as real processes (SQLite, the local RabbitMQ); clients log one account
in over HTTP, as many at a time as the machine has cores. The anchor is argon2-cffi verifying
the same kind of hash (OWASP parameters: 19 MiB, t=2, p=1) with as many threads, in the same
run: what the machine can do at best. The figure is gateway logins/s over raw verifies/s.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from argon2 import PasswordHasher

from bench.harness import REPO_ROOT, Comparison, Side, Target, benchmark

sys.path.insert(0, str(REPO_ROOT / "tests"))
from support.api import PASSWORD, create_operator  # noqa: E402
from support.mailbox import Mailbox  # noqa: E402
from support.resources import DatabaseFactory, free_port  # noqa: E402
from support.stack import new_stack  # noqa: E402

FULL = {"logins": 240, "verifies": 240}
QUICK = {"logins": 24, "verifies": 24}
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def _rate(task, count: int, workers: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for result in pool.map(lambda _: task(), range(count)):
            assert result
    return count / (time.perf_counter() - started)


def _raw_rate(count: int, workers: int) -> float:
    hasher = PasswordHasher(memory_cost=19 * 1024, time_cost=2, parallelism=1)
    stored = hasher.hash(PASSWORD)
    return _rate(lambda: hasher.verify(stored, PASSWORD), count, workers)


def _gateway_rate(stack, username: str, count: int, workers: int) -> float:
    url = f"{stack.gateway_url}/api/v1/sessions"
    local = threading.local()  # one HTTP connection per client thread, as a browser keeps one

    def login():
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = local.session.post(url, json={"username": username, "password": PASSWORD}, timeout=30)
        return response.status_code == 201
    for _ in range(3):
        assert login()
    return _rate(login, count, workers)


@benchmark("logins")
def logins(quick: bool) -> Comparison:
    """Password logins per second through the gateway vs raw Argon2id verifies per second."""
    sizes = QUICK if quick else FULL
    pinned = os.sched_getaffinity(0)
    cpus = os.cpu_count() or 2
    os.sched_setaffinity(0, set(range(cpus)))  # the stack and both sides may use every core
    workers = cpus
    clients = 4 * cpus  # enough logins in flight to keep every core hashing despite the network hops
    try:
        with tempfile.TemporaryDirectory() as folder:
            databases = DatabaseFactory(None, Path(folder))
            stack = new_stack(Path(folder) / "stack", AMQP_URL, databases, free_port, LOG_LEVEL="WARNING")
            stack.start()
            try:
                operator = create_operator(stack, Mailbox(stack.folder / "mail"))
                gateway_rate = _gateway_rate(stack, operator.username, sizes["logins"], clients)
                raw_rate = _raw_rate(sizes["verifies"], workers)
            finally:
                stack.stop()
    finally:
        os.sched_setaffinity(0, pinned)
    return Comparison(
        subject=Side("gateway", {"logins_per_s": gateway_rate}),
        anchor=Side("raw argon2id", {"logins_per_s": raw_rate}),
        headline="logins_per_s",
        parameters={**sizes, "concurrent_clients": clients, "raw_threads": workers, "argon2": "m=19 MiB, t=2, p=1",
                    "stack": "all processes real, SQLite, gunicorn 2 workers x 8 threads"},
        notes=["A login is HTTP to the gateway, gRPC to identity, an Argon2id verify, a refresh token and "
               "an audit row written, and an EdDSA-signed access token.",
               "The anchor is verify alone in this process, one thread per core: the most the machine can do."],
        target=Target("logins_per_s", ">=", 0.7, "at least 0.7 of the raw Argon2id verify rate"),
    )
