"""How a client spreads its calls over the replicas of a service, and which calls it retries.

A service's address (`host:port`, as IDENTITY_ADDR and the others give it) is resolved by DNS,
and every address the name resolves to is a replica: compose's DNS answers with all of a service's
containers, a Kubernetes headless Service with all of its ready pods. The channel keeps a
connection to each and takes them in turn (gRPC's `round_robin` policy), so every replica gets
its share, and a replica that goes away is left out as soon as its connection drops.

A call that fails with UNAVAILABLE never reached a handler or lost its replica on the way, so a
read is tried again (on the next replica in turn) within its deadline. Only reads are: the
methods whose names say so by the API's convention (Get, List, Check, BatchGet, BatchCheck; see
`idempotent_reads`) and the standard health check. A write that fails so is never sent twice by
gRPC; its caller sees UNAVAILABLE and decides.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable

from google.protobuf.descriptor import ServiceDescriptor

# gRPC's own name resolvers; an address with one of these schemes is used as it is (tests list
# several replicas with `ipv4:`, a deployment could name another resolver).
_SCHEME = re.compile(r"^(dns|ipv4|ipv6|unix|unix-abstract|vsock|xds):")
# The API's names for methods that only read (conventions: resource-oriented methods, AIP-131,
# 132, 231 and custom Check methods that answer a question); a capital follows the prefix.
_READ = re.compile(r"^(Get|List|Check|BatchGet|BatchCheck)[A-Z]")
HEALTH_CHECK = ("grpc.health.v1.Health", "Check")

# Attempts in all (the first included) and the pause before each retry, doubling; gRPC adds
# jitter. Retries never outlast the call's deadline.
MAX_ATTEMPTS = 3
INITIAL_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 0.5
# Retries stop for a while once more than half of recent calls failed (gRPC's retry
# throttling: a token per failure, a tenth back per success), so a service that is down for
# good is not sent three times the calls.
RETRY_TOKENS = 10
# A replica that vanishes without closing its connections (a killed container, a cut network)
# answers nothing at all: without pings its connection stays READY, and every call the balancer
# sends it waits out its deadline. A ping every 2 s, unanswered for 1 s, closes the connection
# within the gateway's deadline, so calls in flight fail UNAVAILABLE (reads are tried again on
# another replica) and later ones go to the replicas that answer. The servers allow this rate
# (svckit.server.KEEPALIVE_SERVER_OPTIONS).
KEEPALIVE_TIME_MS = 2000
KEEPALIVE_TIMEOUT_MS = 1000


def target(address: str) -> str:
    """The gRPC target of a service's `host:port`: DNS, so that every replica is found."""
    return address if _SCHEME.match(address) else f"dns:///{address}"


def idempotent_reads(service: ServiceDescriptor) -> tuple[tuple[str, str], ...]:
    """The service's methods that only read, as (full service name, method name), from the proto.

    A method is a read when its name begins with Get, List, Check, BatchGet or BatchCheck and the
    client sends one request (a stream the client sends cannot be replayed). Such a method may
    record that it was read (GetDossier logs the reader) in the same transaction as the read, so
    a retry after UNAVAILABLE, when that transaction did not commit, records it once.
    """
    return tuple((service.full_name, method.name) for method in service.methods
                 if _READ.match(method.name) and not method.client_streaming)


def service_config(services: Iterable[ServiceDescriptor] = ()) -> str:
    """The channel's service config: round robin over every address, reads of `services` and the
    health check retried on UNAVAILABLE."""
    retried = [HEALTH_CHECK, *(read for service in services for read in idempotent_reads(service))]
    return json.dumps({
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [{
            "name": [{"service": name, "method": method} for name, method in retried],
            "retryPolicy": {
                "maxAttempts": MAX_ATTEMPTS,
                "initialBackoff": f"{INITIAL_BACKOFF_SECONDS}s",
                "maxBackoff": f"{MAX_BACKOFF_SECONDS}s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }],
        "retryThrottling": {"maxTokens": RETRY_TOKENS, "tokenRatio": 0.1},
    })


def channel_options(services: Iterable[ServiceDescriptor] = ()) -> list[tuple[str, object]]:
    """Options every channel to another service gets. The config above is the one in force: a
    service config published in DNS (TXT records) is not looked up."""
    return [("grpc.service_config", service_config(services)),
            ("grpc.service_config_disable_resolution", 1),
            ("grpc.enable_retries", 1),
            ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
            ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
            # gRPC's own bound on an unanswered ping (a minute by default) applies as well.
            ("grpc.http2.ping_timeout_ms", KEEPALIVE_TIMEOUT_MS),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.http2.min_time_between_pings_ms", KEEPALIVE_TIME_MS)]
