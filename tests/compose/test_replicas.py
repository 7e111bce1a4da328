"""Two replicas of every service and of the gateway share the work: each replica's own /metrics
(asked on the project's network, replica by replica) shows calls it served, health checks left out."""
from __future__ import annotations

import pytest

from support.api import add_contact, create_operator, create_professional, register
from support.compose import GRPC_SERVICES, served_calls, served_requests

pytestmark = pytest.mark.compose


def test_every_replica_serves_calls(stack, mailbox):
    operator = create_operator(stack, mailbox)
    organisation_id, admin = register(stack, mailbox, "Bouwbedrijf Twee Replica's")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    contact = add_contact(stack, mailbox, admin, organisation_id, "contact")
    professional = create_professional(stack, mailbox, operator, name="Rik Replica")
    assert professional.api.post("/consents", json={"organisation_id": organisation_id,
                                                     "contact_ids": [contact.contact_id]}).status_code == 201
    for _ in range(12):
        assert contact.api.get(f"/dossiers/{professional.account_id}").status_code == 200
        assert professional.api.get("/consents").status_code == 200
        assert admin.api.get(f"/organisations/{organisation_id}/reports/overview",
                             params={"format": "json"}).status_code == 200

    figures = {}
    for service in (*GRPC_SERVICES, "gateway"):
        replicas = [c for c in stack.containers(service) if c.state == "running"]
        assert len(replicas) == 2, f"{service}: {[c.name for c in replicas]}"
        count = served_requests if service == "gateway" else served_calls
        figures[service] = {c.name: count(stack.metrics(c)) for c in replicas}
    print("\ncalls served per replica (health checks left out):")
    for service, replicas in figures.items():
        print(f"  {service:13} " + "  ".join(f"{name}: {int(n)}" for name, n in replicas.items()))
    idle = [name for replicas in figures.values() for name, n in replicas.items() if n == 0]
    assert not idle, f"replicas that served nothing: {idle}"
