"""The stack `docker compose` runs (make compose-test), seen as the system tests see theirs.

`make compose-test` starts it and tells the tests where it is: PE_BASE_URL (the API, through nginx),
PE_MAIL_API (the mail sink's API) and PE_COMPOSE_PROJECT (the project name, for `docker compose` and
`docker` commands that look at or break its containers). Only containers of that project, on its own
network, are ever touched.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
GRPC_SERVICES = ("identity", "organisation", "consent", "reporting")
METRICS_PORTS = {"identity": 9101, "organisation": 9102, "consent": 9103, "reporting": 9104, "gateway": 9100}

GRPC_HANDLED = re.compile(r'^grpc_server_handled_total\{([^}]*)\} (\S+)$', re.M)
HTTP_HANDLED = re.compile(r'^pe_gateway_http_requests_total\{([^}]*)\} (\S+)$', re.M)


def served_calls(text: str) -> float:
    """gRPC calls a replica handled, other than the health checks of docker and its clients."""
    return sum(float(value) for labels, value in GRPC_HANDLED.findall(text)
               if 'grpc_service="grpc.health.v1.Health"' not in labels)


def served_requests(text: str) -> float:
    """API requests a gateway answered, other than docker's and nginx's health and readiness checks."""
    return sum(float(value) for labels, value in HTTP_HANDLED.findall(text)
               if not re.search(r'route="[^"]*/(healthz|readyz)"', labels))


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {result.stdout}{result.stderr}")
    return result


@dataclass
class Container:
    id: str
    name: str
    service: str
    state: str
    health: str
    ip: str


@dataclass
class ComposeStack:
    gateway_url: str
    mail_api: str
    project: str
    env_files: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls) -> ComposeStack:
        missing = [name for name in ("PE_BASE_URL", "PE_MAIL_API", "PE_COMPOSE_PROJECT") if not os.environ.get(name)]
        if missing:
            raise RuntimeError(f"{', '.join(missing)} not set: these tests run against `make compose-test`'s stack")
        env_files = tuple(f for f in os.environ.get("PE_COMPOSE_ENV_FILES", "").split(":") if f)
        return cls(os.environ["PE_BASE_URL"].rstrip("/"), os.environ["PE_MAIL_API"], os.environ["PE_COMPOSE_PROJECT"],
                   env_files)

    def compose(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        files = [arg for env_file in self.env_files for arg in ("--env-file", env_file)]
        return docker("compose", "-p", self.project, *files, *args, timeout=timeout, check=check)

    def command(self, service: str, *args, timeout: float = 120) -> subprocess.CompletedProcess:
        """`python -m <service> args...` in one of the service's containers; files named by a Path
        are copied into the container first."""
        in_container = []
        for arg in args:
            if isinstance(arg, Path):
                target = f"/tmp/{uuid.uuid4().hex[:8]}-{arg.name}"
                self.compose("cp", str(arg), f"{service}:{target}")
                arg = target
            in_container.append(str(arg))
        return self.compose("exec", "-T", service, "python", "-m", service, *in_container, timeout=timeout, check=False)

    # --- the containers ---------------------------------------------------------------------------

    def containers(self, service: str | None = None) -> list[Container]:
        """The project's containers (of one service), stopped ones included, ordered by name."""
        filters = ["--filter", f"label=com.docker.compose.project={self.project}"]
        if service:
            filters += ["--filter", f"label=com.docker.compose.service={service}"]
        ids = docker("ps", "-aq", *filters).stdout.split()
        if not ids:
            return []
        found = []
        for item in json.loads(docker("inspect", *ids).stdout):
            state = item["State"]
            networks = item["NetworkSettings"]["Networks"]
            ip = next((n["IPAddress"] for n in networks.values() if n.get("IPAddress")), "")
            found.append(Container(item["Id"], item["Name"].lstrip("/"),
                                   item["Config"]["Labels"]["com.docker.compose.service"], state["Status"],
                                   state.get("Health", {}).get("Status", ""), ip))
        return sorted(found, key=lambda c: c.name)

    def network(self) -> str:
        return f"{self.project}_default"

    def metrics(self, container: Container) -> str:
        """A replica's own /metrics, from its address on the project's network."""
        port = METRICS_PORTS[container.service]
        answer = requests.get(f"http://{container.ip}:{port}/metrics", timeout=5)
        answer.raise_for_status()
        return answer.text

    def container(self, service: str, index: int = 1) -> Container:
        return next(c for c in self.containers(service) if c.name.endswith(f"-{service}-{index}"))

    def sql(self, database: str, query: str) -> list[tuple[str, ...]]:
        """Rows of a query on one of the stack's databases, as psql prints them (text)."""
        postgres = self.container("postgres")
        out = docker("exec", postgres.id, "psql", "-U", "postgres", "-d", database, "-AtX", "-F", "|",
                     "-v", "ON_ERROR_STOP=1", "-c", query).stdout
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    def restart_count(self, container: Container) -> int:
        return int(docker("inspect", "-f", "{{.RestartCount}}", container.id).stdout.strip())

    def wait_healthy(self, services, timeout: float = 180) -> float:
        """Waits until every container of the services runs and is healthy; the seconds it took."""
        started = time.monotonic()
        while True:
            waiting = [c.name for s in services for c in self.containers(s)
                       if c.state != "running" or c.health not in ("", "healthy")]
            if not waiting:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"not healthy within {timeout} s: {waiting}")
            time.sleep(1)

    def wait_ready(self, timeout: float = 120) -> float:
        """Waits until the API answers /readyz with 200 through nginx; the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if requests.get(f"{self.gateway_url}/readyz", timeout=3).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"{self.gateway_url}/readyz not 200 within {timeout} s")
