"""Client channels share calls over every replica of a service and retry only reads: three real
gRPC servers (svckit's GrpcHost, mutual TLS) on loopback stand behind one target, and each
server's own metrics say what it served.

Production names a service by DNS (`dns:///host:port`, every address the name resolves to); here
the three replicas are listed with gRPC's `ipv4:` resolver, as no name on this machine resolves
to several loopback addresses.
"""
import socket
import threading
import time

import grpc
import pytest
from prometheus_client import CollectorRegistry

from pe.consent.v1 import consent_pb2
from pe.identity.v1 import identity_pb2
from pe.organisation.v1 import organisation_pb2
from pe.reporting.v1 import reporting_pb2
from svckit import balancing, tls
from svckit.server import GrpcHost, Registration

CONSENT = consent_pb2.DESCRIPTOR.services_by_name["ConsentService"]
READ, WRITE = "GetConsent", "RevokeConsent"


def test_a_service_address_is_resolved_by_dns_to_every_replica():
    assert balancing.target("consent:50053") == "dns:///consent:50053"
    assert balancing.target("127.0.0.1:50053") == "dns:///127.0.0.1:50053"
    assert balancing.target("ipv4:127.0.0.1:1,127.0.0.1:2") == "ipv4:127.0.0.1:1,127.0.0.1:2"


def test_the_reads_retried_are_those_the_protos_name_as_reads_and_no_write():
    reads = {service.name: [method for _, method in balancing.idempotent_reads(service)] for service in (
        identity_pb2.DESCRIPTOR.services_by_name["IdentityService"],
        organisation_pb2.DESCRIPTOR.services_by_name["OrganisationService"],
        CONSENT, reporting_pb2.DESCRIPTOR.services_by_name["ReportingService"])}
    assert reads == {
        "IdentityService": ["GetAccount", "BatchGetAccounts", "CheckSession", "ListSigningKeys", "ListAccountEvents"],
        "OrganisationService": ["GetOrganisation", "ListOrganisations", "ListOrganisationTransitions", "GetContact",
                                "ListContacts", "ListMemberships"],
        "ConsentService": ["GetConsent", "ListConsents", "ListConsentHistory", "ListContactProfessionals",
                           "ListOrganisationProfessionals", "CheckAccess", "BatchCheckAccess", "ListConsentEvents"],
        "ReportingService": ["GetDossier", "ListDossiers", "BatchGetDossiers", "GetOwnDossier", "ListAccessLog"],
    }


class FirstCallHeld:
    """The first call any replica gets is held until that replica stops; every other is answered."""

    def __init__(self):
        self._lock = threading.Lock()
        self.replica: str | None = None

    def claim(self, replica: str) -> bool:
        with self._lock:
            if self.replica is None:
                self.replica = replica
                return True
            return False


class Replica:
    """One replica of a consent-like service, answering with its own name."""

    def __init__(self, name: str, held: FirstCallHeld | None):
        self.name, self._held = name, held

    def GetConsent(self, request, context):
        return self._answer(context)

    def RevokeConsent(self, request, context):
        return self._answer(context)

    def _answer(self, context):
        if self._held is not None and self._held.claim(self.name):
            ended = threading.Event()
            context.add_callback(ended.set)
            ended.wait(10)
        return self.name.encode()


def _add_replica(servicer, server):
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(CONSENT.full_name, {
        method: grpc.unary_unary_rpc_method_handler(getattr(servicer, method)) for method in (READ, WRITE)})])


def _start(name: str, certificates, held: FirstCallHeld | None) -> GrpcHost:
    registry = CollectorRegistry()
    host = GrpcHost(port=0, registrations=[Registration(CONSENT.full_name, _add_replica, Replica(name, held),
                                                        peers={READ: {"gateway"}, WRITE: {"gateway"}})],
                    registry=registry, credentials=certificates.tls("consent").server_credentials())
    host.start()
    host.mark_ready()
    host.name, host.registry = name, registry
    return host


def _metric(host: GrpcHost, name: str, method: str, **labels) -> float:
    value = host.registry.get_sample_value(name, {"grpc_type": "unary", "grpc_service": CONSENT.full_name,
                                                  "grpc_method": method, **labels})
    return value or 0.0


def _handled(host: GrpcHost, method: str) -> float:
    return _metric(host, "grpc_server_handled_total", method, grpc_code="OK")


def _started(host: GrpcHost, method: str) -> float:
    return _metric(host, "grpc_server_started_total", method)


@pytest.fixture
def held():
    return FirstCallHeld()


@pytest.fixture
def replicas(certificates, held):
    hosts = [_start(f"replica-{n}", certificates, held) for n in (1, 2, 3)]
    yield hosts
    for host in hosts:
        host.drain(0)


@pytest.fixture
def channel(replicas, certificates):
    target = "ipv4:" + ",".join(f"127.0.0.1:{host.port}" for host in replicas)
    # The replicas' certificate names localhost; a list of addresses has no host name to check.
    with tls.open_channel(target, certificates.tls("gateway"), [("grpc.default_authority", "localhost")],
                          service=CONSENT) as channel:
        yield channel


def _call(channel, method: str) -> bytes:
    return channel.unary_unary(f"/{CONSENT.full_name}/{method}")(b"", timeout=5, wait_for_ready=True)


def _in_flight(channel, method: str, held: FirstCallHeld):
    """Start a call on a thread; once a replica holds it, answer that replica and the call's outcome."""
    outcome = []

    def call():
        try:
            outcome.append(_call(channel, method))
        except grpc.RpcError as error:
            outcome.append(error)
    thread = threading.Thread(target=call)
    thread.start()
    for _ in range(500):
        if held.replica is not None:
            break
        threading.Event().wait(0.01)
    assert held.replica is not None, "no replica received the call"
    return held.replica, thread, outcome


def test_every_replica_serves_a_share_of_the_calls(replicas, channel, held):
    held.claim("nobody")  # nothing held in this test
    answers = [_call(channel, READ) for _ in range(30)] + [_call(channel, WRITE) for _ in range(30)]
    assert {answer.decode() for answer in answers} == {"replica-1", "replica-2", "replica-3"}
    for host in replicas:
        assert _handled(host, READ) >= 5, f"{host.name} served {_handled(host, READ)} reads"
        assert _handled(host, WRITE) >= 5, f"{host.name} served {_handled(host, WRITE)} writes"
    assert sum(_handled(host, READ) for host in replicas) == 30
    assert sum(_handled(host, WRITE) for host in replicas) == 30


def test_a_read_whose_replica_stops_is_answered_by_another(replicas, channel, held):
    victim_name, thread, outcome = _in_flight(channel, READ, held)
    victim = next(host for host in replicas if host.name == victim_name)
    victim.drain(0)  # stopped at once: the call in flight is cut off (UNAVAILABLE)
    thread.join(10)
    others = [host for host in replicas if host is not victim]
    assert outcome and isinstance(outcome[0], bytes), outcome
    assert outcome[0].decode() in {host.name for host in others}
    assert _started(victim, READ) == 1
    assert sum(_handled(host, READ) for host in others) == 1  # the retry, on another replica
    # The remaining replicas carry on with every call.
    assert {_call(channel, READ).decode() for _ in range(10)} == {host.name for host in others}


def test_a_write_whose_replica_stops_is_not_sent_again(replicas, channel, held):
    victim_name, thread, outcome = _in_flight(channel, WRITE, held)
    victim = next(host for host in replicas if host.name == victim_name)
    victim.drain(0)
    thread.join(10)
    assert outcome and isinstance(outcome[0], grpc.RpcError), outcome
    assert outcome[0].code() == grpc.StatusCode.UNAVAILABLE
    assert _started(victim, WRITE) == 1
    assert sum(_started(host, WRITE) for host in replicas if host is not victim) == 0


class SilentableProxy:
    """A TCP relay in front of a replica that can go silent: it then forwards nothing either way and
    closes nothing, as a killed container or a cut network looks to its clients."""

    def __init__(self, port: int):
        self._upstream = port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._silent = threading.Event()
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def silence(self) -> None:
        self._silent.set()

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self._upstream))
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if self._silent.is_set():
                    continue   # swallowed: no answer, no close
                sink.sendall(data)
        except OSError:
            return


def test_a_replica_gone_silent_is_left_out_within_the_callers_deadline(certificates):
    hosts = [_start(f"replica-{n}", certificates, None) for n in (1, 2)]
    proxies = [SilentableProxy(host.port) for host in hosts]
    target = "ipv4:" + ",".join(f"127.0.0.1:{proxy.port}" for proxy in proxies)
    try:
        with tls.open_channel(target, certificates.tls("gateway"), [("grpc.default_authority", "localhost")],
                              service=CONSENT) as channel:
            assert {_call(channel, READ).decode() for _ in range(10)} == {"replica-1", "replica-2"}
            proxies[0].silence()
            started = time.monotonic()
            # Reads sent to the silent replica fail UNAVAILABLE once its pings go unanswered, and are
            # answered by the other in time; without pings they would wait out the 5 s deadline.
            assert {_call(channel, READ).decode() for _ in range(10)} == {"replica-2"}
            writes = []
            for _ in range(10):
                try:
                    writes.append(_call(channel, WRITE).decode())
                except grpc.RpcError as error:
                    writes.append(error.code())
            assert set(writes) <= {"replica-2", grpc.StatusCode.UNAVAILABLE}, writes
            assert time.monotonic() - started < 10
    finally:
        for proxy in proxies:
            proxy.close()
        for host in hosts:
            host.drain(0)
