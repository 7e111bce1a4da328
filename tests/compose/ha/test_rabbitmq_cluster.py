"""With the ha profile (make compose-test COMPOSE_TEST_PROFILE=ha): the services use the three-node
RabbitMQ cluster, and stopping one node while 8 clients grant 1,000 consents loses none."""
from __future__ import annotations

import json
import time

import pytest

from support.compose import docker
from support.load import check, load

pytestmark = pytest.mark.compose

CLIENTS = 8


def running_nodes(stack, node: str) -> list[str]:
    status = docker("exec", stack.container(node).id, "rabbitmq-diagnostics", "-q", "cluster_status",
                    "--formatter", "json")
    # The JSON document, whatever notices the tool printed around it.
    text = status.stdout
    assert "{" in text, status.stdout + status.stderr
    return sorted(json.loads(text[text.index("{"):text.rindex("}") + 1])["running_nodes"])


def test_stopping_one_of_three_nodes_loses_no_grant(stack, world):
    assert running_nodes(stack, "rabbitmq-1") == ["rabbit@rabbitmq-1", "rabbit@rabbitmq-2", "rabbit@rabbitmq-3"]
    victim = stack.container("rabbitmq-2")
    with load(world, grants_each=1000 // CLIENTS, full=False) as run:
        while sum(run.tally.done.values()) < 100:
            time.sleep(0.5)
        docker("stop", victim.id, timeout=180)
        stopped = time.monotonic()
        remaining = running_nodes(stack, "rabbitmq-1")
        run.join()
    print(f"\nrabbitmq-2 stopped during the grants; {remaining} ran on; the grants ended "
          f"{time.monotonic() - stopped:.0f} s later")
    assert len(run.consent_ids) == 1000
    check(stack, run, "1,000 grants (and revocations) with one of three RabbitMQ nodes stopped")
    docker("start", victim.id)
    stack.wait_healthy(["rabbitmq-2"])
    assert running_nodes(stack, "rabbitmq-1") == ["rabbit@rabbitmq-1", "rabbit@rabbitmq-2", "rabbit@rabbitmq-3"]
