"""The allow-list of the consent API: every method names the peers that may call it, and only peers
that exist; a new method without its line fails here (and is refused to every caller)."""
from consent import peers
from pe.consent.v1 import consent_pb2
from svckit.peer_auth import PROCESSES

SERVICE = consent_pb2.DESCRIPTOR.services_by_name["ConsentService"]


def test_every_method_of_the_api_has_its_line():
    assert set(peers.ALLOWED_PEERS) == {method.name for method in SERVICE.methods}


def test_only_processes_of_pe_insight_are_named():
    for method, callers in peers.ALLOWED_PEERS.items():
        assert isinstance(callers, set) and callers <= PROCESSES, method
