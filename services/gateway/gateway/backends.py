"""gRPC channels to the four services, made lazily in each worker process, over mutual TLS with
the gateway's certificate (svckit.tls). Each spreads its calls over every replica of its service
and retries a read that found one unreachable on another (svckit.balancing).

gRPC channels must not cross a fork, so nothing here connects until a worker first
needs it; gunicorn's workers therefore each get their own.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.config import Settings
from svckit import tls
from svckit.interceptors import outgoing_metadata
from pe.consent.v1 import consent_pb2, consent_pb2_grpc
from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from pe.organisation.v1 import organisation_pb2, organisation_pb2_grpc
from pe.reporting.v1 import reporting_pb2, reporting_pb2_grpc

SERVICES = ("identity", "organisation", "consent", "reporting")
# The API each channel calls: its reads are what the channel retries on another replica when one
# was unreachable (svckit.balancing); writes never are.
_APIS = {
    "identity": identity_pb2.DESCRIPTOR.services_by_name["IdentityService"],
    "organisation": organisation_pb2.DESCRIPTOR.services_by_name["OrganisationService"],
    "consent": consent_pb2.DESCRIPTOR.services_by_name["ConsentService"],
    "reporting": reporting_pb2.DESCRIPTOR.services_by_name["ReportingService"],
}
_STUBS = {
    "identity": identity_pb2_grpc.IdentityServiceStub,
    "organisation": organisation_pb2_grpc.OrganisationServiceStub,
    "consent": consent_pb2_grpc.ConsentServiceStub,
    "reporting": reporting_pb2_grpc.ReportingServiceStub,
}


# A restarted service is found again within a fraction of a second, not after gRPC's default
# back-off of up to two minutes.
_MAX_RECONNECT_BACKOFF_MS = 1000
_CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
                    ("grpc.max_reconnect_backoff_ms", _MAX_RECONNECT_BACKOFF_MS)]
# A health probe waits out the longest back-off between two connection attempts (gRPC adds up to
# 20% jitter to it), so a service that is up is never reported unreachable because this worker's
# channel last failed while it was starting.
PROBE_TIMEOUT_SECONDS = 1.5 * _MAX_RECONNECT_BACKOFF_MS / 1000


class Backends:
    def __init__(self, settings: Settings):
        self._addresses = {
            "identity": settings.identity_addr, "organisation": settings.organisation_addr,
            "consent": settings.consent_addr, "reporting": settings.reporting_addr}
        self.timeout = settings.rpc_timeout_seconds
        self._tls = tls.load(settings.tls)
        self._lock = threading.Lock()
        self._pid = None
        self._opened: dict[str, tuple[grpc.Channel, object]] = {}  # service -> its channel and stub

    def _open(self, service: str) -> tuple[grpc.Channel, object]:
        with self._lock:
            if self._pid != os.getpid():  # first use in this process, or after a fork
                self._opened, self._pid = {}, os.getpid()
            if service not in self._opened:
                channel = tls.open_channel(self._addresses[service], self._tls, _CHANNEL_OPTIONS,
                                           service=_APIS[service])
                self._opened[service] = (channel, _STUBS[service](channel))
            return self._opened[service]

    def channel(self, service: str) -> grpc.Channel:
        return self._open(service)[0]

    def stub(self, service: str):
        """The service's stub, made once with its channel: making one (a callable per method) costs
        30 to 100 us, as much as a good part of the gateway's own work on a call."""
        return self._open(service)[1]

    @property
    def identity(self) -> identity_pb2_grpc.IdentityServiceStub:
        return self.stub("identity")

    @property
    def organisation(self) -> organisation_pb2_grpc.OrganisationServiceStub:
        return self.stub("organisation")

    @property
    def consent(self) -> consent_pb2_grpc.ConsentServiceStub:
        return self.stub("consent")

    @property
    def reporting(self) -> reporting_pb2_grpc.ReportingServiceStub:
        return self.stub("reporting")

    def call(self, service: str, method: str, request, *, timeout: float | None = None):
        """One unary call with the gateway's deadline, passing the request id on.

        wait_for_ready: while no replica of the service is reachable (a restart) the call waits,
        within its deadline, for one to come back instead of failing at once. A write is still sent
        only once; a read that fails with UNAVAILABLE is tried again on another replica.
        """
        return getattr(self.stub(service), method)(request, timeout=timeout or self.timeout,
                                                   metadata=outgoing_metadata(), wait_for_ready=True)

    def health(self, timeout: float = PROBE_TIMEOUT_SECONDS) -> dict[str, str]:
        """Each service's standard health status: SERVING, NOT_SERVING, or UNREACHABLE (no answer
        within `timeout`, the next connection attempt included)."""
        def check(service):
            try:
                reply = health_pb2_grpc.HealthStub(self.channel(service)).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=timeout, wait_for_ready=True)
                return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.RpcError:
                return "UNREACHABLE"
        with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
            return dict(zip(SERVICES, pool.map(check, SERVICES)))
