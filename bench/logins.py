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
from pathlib import Path

from argon2 import PasswordHasher

from bench._gateway_client import password_login, timed
from bench.harness import REPO_ROOT, Comparison, Side, Target, benchmark

sys.path.insert(0, str(REPO_ROOT / "tests"))
from support.api import PASSWORD, create_operator  # noqa: E402
from support.mailbox import Mailbox  # noqa: E402
from support.resources import DatabaseFactory, free_port  # noqa: E402
from support.stack import new_stack  # noqa: E402

FULL = {"logins": 480, "verifies": 480, "rounds": 4}
QUICK = {"logins": 24, "verifies": 24, "rounds": 2}
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def _raw_verify():
    hasher = PasswordHasher(memory_cost=19 * 1024, time_cost=2, parallelism=1)
    stored = hasher.hash(PASSWORD)
    return lambda: hasher.verify(stored, PASSWORD)


def _rates(login, verify, sizes: dict, clients: int, threads: int) -> tuple[float, float, list[dict]]:
    """Both sides in turns, the order swapped every round, so that drift in the machine (other
    tenants, clock speed) falls on both alike; answers each side's overall rate and the rounds."""
    rounds, seconds = [], {"gateway": 0.0, "raw": 0.0}
    for r in range(sizes["rounds"]):
        logins, verifies = sizes["logins"] // sizes["rounds"], sizes["verifies"] // sizes["rounds"]
        sides = [("gateway", login, logins, clients), ("raw", verify, verifies, threads)]
        row = {}
        for name, task, count, workers in (sides if r % 2 == 0 else sides[::-1]):
            elapsed = timed(task, count, workers)
            seconds[name] += elapsed
            row[name] = round(count / elapsed, 1)
        row["ratio"] = round(row["gateway"] / row["raw"], 3)
        rounds.append(row)
    return sizes["logins"] / seconds["gateway"], sizes["verifies"] / seconds["raw"], rounds


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
                login = password_login(stack.gateway_url, operator.username, PASSWORD)
                gateway_rate, raw_rate, rounds = _rates(login, _raw_verify(), sizes, clients, workers)
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
        details={"by_round": rounds},
    )
