"""A server process for the consent_access benchmark: `python -m bench._consent_server KIND [DATABASE_URL]`.

KIND is
- `consent`: the real ConsentService servicer (real ConsentStore, with the connections its
  access check keeps per serving thread, on DATABASE_URL; fakes only for the organisation and identity
  directories, which CheckAccess never calls) served by svckit's GrpcHost, as `python -m consent`
  serves it, CheckAccess on threads of its own (ACCESS_CHECK_WORKERS' default);
- `echo`: a bare `grpc.server(ThreadPoolExecutor(16))` with a generic handler for the same method
  name that answers a fixed CheckAccessResponse (allowed, with a consent): the same transport and
  the same messages, no work.

The process prints `PORT <n>` once it is serving, and stops when its stdin closes (so it never
outlives the benchmark) or on SIGTERM. `--cpus 0,1` pins it (before any thread starts). With
`--profile FILE` it runs cProfile on every thread started after it (gRPC's workers) and writes
their merged stats to FILE when it stops: for finding hot spots, never while measuring.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from concurrent import futures
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKERS = 16  # what svckit.process.serve gives GrpcHost
METHOD = "/pe.consent.v1.ConsentService/CheckAccess"


def _consent_server(database_url: str):
    sys.path.insert(0, str(REPO_ROOT / "services" / "consent" / "tests"))
    from prometheus_client import CollectorRegistry
    from svckit.clock import SystemClock
    from svckit.logs import configure_logging
    from svckit.process import open_database
    from svckit.server import GrpcHost

    from consent import config
    from consent.__main__ import MIGRATIONS, api_registration
    from consent.handlers import Dependencies
    from consent.mails import Mails
    from consent.repository import ConsentStore
    from consent_testkit import PUBLIC_URL, Directory, FakeAccounts, FakeOrganisations

    configure_logging("consent", "WARNING")
    engine = open_database(database_url, MIGRATIONS)  # as main() does; the schema is there already
    directory = Directory()
    deps = Dependencies(store=ConsentStore(engine), clock=SystemClock(),
                        organisations=FakeOrganisations(directory), accounts=FakeAccounts(directory),
                        mails=Mails(PUBLIC_URL))
    # Without TLS, like the echo it is weighed against: this measures the check, not the transport.
    host = GrpcHost(port=0, registrations=[api_registration(deps, config.load({}).access_check_workers)],
                    registry=CollectorRegistry(), credentials=None, max_workers=WORKERS, bind_host="127.0.0.1")
    host.start()
    host.mark_ready()

    def stop():
        host.drain(0)
        deps.store.close()
        engine.dispose()
    return host.port, stop


def fixed_response():
    """What the echo answers: an allowed check with a consent of the usual size."""
    from pe.common.v1 import common_pb2
    from pe.consent.v1 import consent_pb2
    consent = consent_pb2.Consent(
        consent_id="0b7c4a63-4f0e-4c55-9a61-0f2b8f4a9d11", professional_id="5d1e2a7b-8c3f-4e9a-b6d2-1a0c9e8f7b65",
        pe_registration_number="PE-1234567", organisation_id="9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
        contact_id="3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98", state=consent_pb2.CONSENT_STATE_ACTIVE, sequence=1,
        end_date=common_pb2.Date(year=2027, month=6, day=30))
    consent.valid_from.FromDatetime(datetime(2026, 3, 2, 9, 15, 27, 512000, tzinfo=timezone.utc))
    return consent_pb2.CheckAccessResponse(allowed=True, consent=consent)


def _echo_server():
    import grpc
    from pe.consent.v1 import consent_pb2

    response = fixed_response()
    handler = grpc.unary_unary_rpc_method_handler(lambda request, context: response,
                                                  request_deserializer=consent_pb2.CheckAccessRequest.FromString,
                                                  response_serializer=consent_pb2.CheckAccessResponse.SerializeToString)
    server = grpc.server(futures.ThreadPoolExecutor(WORKERS))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "pe.consent.v1.ConsentService", {"CheckAccess": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return port, lambda: server.stop(0).wait()


class _ThreadProfiles:
    """cProfile on every thread started from here on (grpc's workers included), merged at the end."""

    def __init__(self):
        import cProfile
        self._profiles, self._lock = [], threading.Lock()

        def start(*_):
            profile = cProfile.Profile()
            with self._lock:
                self._profiles.append(profile)
            profile.enable()  # replaces this hook, in this thread only
        threading.setprofile(start)

    def write(self, path: str) -> None:
        import pstats
        profiles = list(self._profiles)
        for profile in profiles:
            profile.disable()
        if profiles:
            stats = pstats.Stats(profiles[0])
            for profile in profiles[1:]:
                stats.add(profile)
            stats.dump_stats(path)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._consent_server")
    parser.add_argument("kind", choices=("consent", "echo"))
    parser.add_argument("database_url", nargs="?")
    parser.add_argument("--cpus", metavar="LIST", help="run on these CPUs only (comma-separated ids)")
    parser.add_argument("--profile", metavar="FILE")
    args = parser.parse_args()
    if args.cpus:  # before any thread starts, so grpc's threads inherit it
        os.sched_setaffinity(0, {int(cpu) for cpu in args.cpus.split(",")})
    profiles = _ThreadProfiles() if args.profile else None
    if args.kind == "consent":
        if not args.database_url:
            parser.error("consent needs a DATABASE_URL")
        port, stop = _consent_server(args.database_url)
    else:
        port, stop = _echo_server()

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    print(f"PORT {port}", flush=True)
    done.wait()
    stop()
    if profiles:
        profiles.write(args.profile)


if __name__ == "__main__":
    main()
