"""The pe-insight image's HEALTHCHECK: is the process this container runs serving?

The image runs any of the six processes (`python -m <name>`). This finds which one in the process table
(or takes it as its argument, or from PE_SERVICE), reads that process's own settings from the container's
environment (its config.py) for the port, and asks the process: the standard gRPC health service of
identity, organisation, consent and reporting (over mutual TLS, with the container's certificate, as
svckit.probe does), GET /healthz of the gateway and of the web pages. Exit status 0 when healthy,
1 with one line saying why when not.

    python /app/healthcheck.py [identity|organisation|consent|reporting|gateway|web]
"""
from __future__ import annotations

import importlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

SERVICES = ("identity", "organisation", "consent", "reporting", "gateway", "web")
TIMEOUT_SECONDS = 3.0


def running_service(proc: Path = Path("/proc")) -> str | None:
    """The pe-insight process this container runs: the `python -m <service>` with the lowest PID
    (PID 1, or the child of an init process such as `docker run --init`)."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = [a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0") if a]
        except OSError:  # the process ended meanwhile
            continue
        if not args or not Path(args[0]).name.startswith("python"):
            continue
        for flag, module in zip(args, args[1:]):
            if flag == "-m" and module in SERVICES:
                found.append((int(entry.name), module))
    return min(found)[1] if found else None


def grpc_serving(service: str, address: str, environ) -> str | None:
    """Asked over mutual TLS with the container's own certificate, as svckit.probe asks."""
    from svckit.config import Env
    from svckit.probe import check

    status = check(service, address, TIMEOUT_SECONDS, Env(environ))
    return None if status == "SERVING" else f"gRPC health on {address}: {status}"


def http_healthy(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:
        return f"GET {url} failed: {error}"
    return None if status == 200 else f"GET {url} answered {status}"


def problem(service: str, environ) -> str | None:
    """Why the service is not healthy, or None when it is."""
    settings = importlib.import_module(f"{service}.config").load(environ)
    if hasattr(settings, "grpc_port"):
        return grpc_serving(service, f"127.0.0.1:{settings.grpc_port}", environ)
    return http_healthy(f"http://127.0.0.1:{settings.port}/healthz")


def main(argv: list[str]) -> int:
    service = argv[0] if argv else running_service() or os.environ.get("PE_SERVICE")
    if service not in SERVICES:
        print(f"healthcheck: no pe-insight process found (got {service!r}); expected one of "
              f"{', '.join(SERVICES)}", file=sys.stderr)
        return 1
    reason = problem(service, os.environ)
    if reason:
        print(f"healthcheck: {service}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
