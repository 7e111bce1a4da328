"""The stack without TLS, as the benchmark that weighs what mutual TLS costs runs it: allowed only
on a developer's machine (DEVELOPMENT=1, which the stack sets) and only when asked (GRPC_TLS=off)."""
import os

import pytest
import requests

from support.resources import DatabaseFactory, free_port
from support.stack import SERVICES, new_stack

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def plain_stack(tmp_path_factory, stack_amqp_url):
    folder = tmp_path_factory.mktemp("plain-stack")
    databases = DatabaseFactory(os.environ.get("TEST_POSTGRES_URL"), folder)
    stack = new_stack(folder / "stack", stack_amqp_url, databases, free_port, GRPC_TLS="off")
    stack.start()
    yield stack
    stack.stop()
    databases.drop_all()


def test_every_process_serves_and_calls_in_plain_text(plain_stack):
    assert not plain_stack.certificates.folder.exists()
    assert {service: plain_stack.health(service) for service in SERVICES} == {s: "SERVING" for s in SERVICES}
    ready = requests.get(f"{plain_stack.gateway_url}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json()["services"] == {s: "SERVING" for s in SERVICES}
    for service in SERVICES:
        assert "serving gRPC without TLS" in plain_stack.processes[service].log(), service
