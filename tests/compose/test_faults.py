"""Faults made to the composed stack while 8 clients grant, change, revoke and read dossiers through
nginx: every client operation ends as expected or in a clean retryable 503/429 (never a 500 or 502),
and afterwards reporting's read model equals consent's consents, every event of consent's outbox
published and applied. Each test prints its figures."""
from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from support.compose import GRPC_SERVICES, docker, served_calls
from support.load import check, load

pytestmark = pytest.mark.compose

CLIENTS = 8


def wait_until(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.5)
    return time.monotonic() - started


def readyz(stack) -> int:
    try:
        return requests.get(f"{stack.gateway_url}/readyz", timeout=5).status_code
    except requests.RequestException:
        return 0


def test_killing_one_replica_of_each_service_in_turn(stack, world):
    figures = []
    with load(world) as run:
        time.sleep(3)
        for service in (*GRPC_SERVICES, "gateway"):
            victim = stack.container(service, 1)
            killed = time.monotonic()
            docker("kill", victim.id)
            time.sleep(5)   # the other replica carries the load meanwhile
            # The engine's restart policy leaves a container that `docker kill` stopped alone (an
            # operator's act); it is started again here. A process that dies by itself is restarted
            # by the policy: test_a_replica_whose_process_dies_is_restarted_and_serves_again.
            by = "policy"
            if stack.container(service, 1).state != "running":
                docker("start", victim.id)
                by = "docker start"
            stack.wait_healthy([service])
            figures.append(f"{service} {time.monotonic() - killed:.0f} s ({by})")
        time.sleep(3)
    print("\nkilled and back, healthy: " + ", ".join(figures))
    check(stack, run, "one replica of each service killed in turn")


def test_restarting_rabbitmq_during_1000_grants_loses_none(stack, world):
    broker = stack.container("rabbitmq")
    with load(world, grants_each=1000 // CLIENTS, full=False) as run:
        wait_until(lambda: sum(run.tally.done.values()) >= 100, 120, "the first grants")
        restarted = time.monotonic()
        docker("restart", broker.id, timeout=180)
        stack.wait_healthy(["rabbitmq"])
        back = time.monotonic() - restarted
        run.join()
    print(f"\nRabbitMQ restarted during the grants, healthy again after {back:.0f} s")
    assert len(run.consent_ids) == 1000
    check(stack, run, "1,000 grants (and revocations) across a RabbitMQ restart")


def test_postgresql_stopped_for_20_seconds(stack, world):
    services = [stack.container(s, n) for s in GRPC_SERVICES for n in (1, 2)]
    started_at = {c.name: docker("inspect", "-f", "{{.State.StartedAt}}", c.id).stdout for c in services}
    postgres = stack.container("postgres")
    with load(world) as run:
        time.sleep(3)
        docker("stop", postgres.id)
        stopped = time.monotonic()
        ready_answers, probes = set(), {}
        while time.monotonic() - stopped < 20:
            ready_answers.add(readyz(stack))
            time.sleep(1)
        for service in GRPC_SERVICES:   # each service's own gRPC health, asked in its container
            probe = docker("exec", stack.container(service, 2).id, "python", "-m", "svckit.probe", service,
                           check=False)
            probes[service] = (probe.stdout + probe.stderr).strip()
        docker("start", postgres.id)
        back = wait_until(lambda: readyz(stack) == 200, 120, "/readyz 200 after PostgreSQL came back")
        time.sleep(5)
    print(f"\nPostgreSQL stopped 20 s: /readyz answered {sorted(ready_answers)} meanwhile; services said {probes}; "
          f"ready {back:.0f} s after PostgreSQL started again")
    assert 503 in ready_answers and not ready_answers & {0, 500, 502}
    assert all("NOT_SERVING" in said for said in probes.values()), probes
    # Recovered by themselves: no container was restarted.
    assert {c.name: docker("inspect", "-f", "{{.State.StartedAt}}", c.id).stdout for c in services} == started_at
    check(stack, run, "PostgreSQL stopped for 20 s")


def test_reporting_cut_off_the_network_for_30_seconds_converges(stack, world):
    network = stack.network()
    replicas = stack.containers("reporting")
    with load(world) as run:
        time.sleep(3)
        for replica in replicas:
            docker("network", "disconnect", network, replica.id)
        time.sleep(30)
        for replica in replicas:
            # Back under the service's name, as compose attached it.
            docker("network", "connect", "--alias", "reporting", network, replica.id)
        back = wait_until(lambda: readyz(stack) == 200, 120, "/readyz 200 after reporting was reconnected")
        time.sleep(5)
    print(f"\nreporting disconnected 30 s; ready {back:.0f} s after it was reconnected")
    check(stack, run, "reporting cut off for 30 s")


def test_a_replica_whose_process_dies_is_restarted_and_serves_again(stack, world):
    victim = stack.container("consent", 2)
    restarts = stack.restart_count(victim)
    pid = int(docker("inspect", "-f", "{{.State.Pid}}", victim.id).stdout)
    os.kill(pid, signal.SIGKILL)   # the process dies; nobody stopped the container
    died = time.monotonic()
    wait_until(lambda: stack.restart_count(victim) == restarts + 1, 60, "compose's restart policy")
    stack.wait_healthy(["consent"])
    healthy = time.monotonic() - died
    before = served_calls(stack.metrics(stack.container("consent", 2)))
    with load(world) as run:
        time.sleep(8)
    after = served_calls(stack.metrics(stack.container("consent", 2)))
    print(f"\nconsent-2's process killed: restarted by the policy and healthy after {healthy:.0f} s; "
          f"it served {after - before:.0f} calls of the load after")
    assert after > before
    check(stack, run, "load after the restart")
