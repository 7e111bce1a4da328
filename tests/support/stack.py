"""The whole pe-insight stack as real processes on free ports, for system tests.

Each service gets a fresh database (PostgreSQL when TEST_POSTGRES_URL is set), all of them
the real broker, and the gateway the four services' addresses. Every process gets a certificate
of the stack's own CA (under its var/tls/, as `make run` does), unless the stack is made with GRPC_TLS="off".
Logs go to files under the stack's folder, shown when a process fails to come up.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.ratelimits import LIMITS
from support.certificates import Certificates
from svckit import pki, tls
from svckit.peer_auth import PROCESSES

SERVICES = ("identity", "organisation", "consent", "reporting")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Stack:
    folder: Path
    amqp_url: str
    database_urls: dict[str, str]
    ports: dict[str, int]
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)  # settings of one service only

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def grpc_address(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service + '_grpc']}"

    @property
    def tls_on(self) -> bool:
        return self.extra_env.get("GRPC_TLS") != "off"

    @property
    def certificates(self) -> Certificates:
        """The stack's own CA: a certificate for each process, and for any other name asked for; where
        `make run` keeps them (VAR_DIR/tls), so that a service's commands find theirs as there."""
        return Certificates(self.folder / "var" / "tls")

    def channel(self, service: str, as_peer: str = "gateway") -> grpc.Channel:
        """A channel to a service, calling with the certificate of `as_peer`."""
        return tls.open_channel(self.grpc_address(service), self.certificates.tls(as_peer) if self.tls_on else None)

    def metrics_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service + '_metrics']}/metrics"

    def base_env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PROMETHEUS_")}
        env.update(PYTHONUNBUFFERED="1", VAR_DIR=str(self.folder / "var"), AMQP_URL=self.amqp_url,
                   SMTP_HOST="127.0.0.1", SMTP_PORT=str(self.ports["smtp"]), LOG_LEVEL="INFO",
                   DRAIN_SECONDS="2", DEVELOPMENT="1")
        for service in SERVICES:
            env[f"{service.upper()}_ADDR"] = self.grpc_address(service)
        env.update(self.extra_env)
        return env

    def tls_env(self, process: str) -> dict[str, str]:
        return self.certificates.env(process) if self.tls_on else {}

    def service_env(self, service: str) -> dict[str, str]:
        env = self.base_env()
        env.update(self.tls_env(service))
        if service == "gateway":
            env.update(GATEWAY_PORT=str(self.ports["gateway"]), GATEWAY_WORKERS="2",
                       GATEWAY_METRICS_PORT=str(self.ports["gateway_metrics"]), PUBLIC_URL=self.gateway_url)
            # Every test of a module comes from 127.0.0.1; a test of the limits sets its own.
            env.update({limit.setting: "10000 per hour" for limit in LIMITS})
        else:
            env.update(GRPC_PORT=str(self.ports[service + "_grpc"]),
                       METRICS_PORT=str(self.ports[service + "_metrics"]),
                       DATABASE_URL=self.database_urls[service])
        env.update(self.overrides.get(service, {}))
        return env

    def command(self, service: str, *args, timeout: float = 120) -> subprocess.CompletedProcess:
        """`python -m <service> args...` with the service's settings, as an operator runs its commands."""
        return subprocess.run([sys.executable, "-m", service, *map(str, args)], cwd=ROOT,
                              env=self.service_env(service), capture_output=True, text=True, timeout=timeout)

    def start_process(self, name: str, args: list[str], env: dict[str, str]) -> Process:
        log_path = self.folder / f"{name}.log"
        handle = log_path.open("wb")
        popen = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=handle,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        process = Process(name, popen, log_path)
        self.processes[name] = process
        return process

    def start(self, timeout: float = 60.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.tls_on:
            pki.ensure(self.certificates.folder, sorted(PROCESSES))
        self.start_mail()
        for service in (*SERVICES, "gateway"):
            self.start_process(service, ["-m", service], self.service_env(service))
        self.wait_ready(timeout)

    def stop_process(self, name: str) -> None:
        process = self.processes[name]
        os.killpg(process.popen.pid, signal.SIGTERM)
        process.popen.wait(15)

    def restart(self, service: str, timeout: float = 60.0, **env) -> None:
        """Stop one service and start it again with extra settings, then wait for readiness."""
        self.stop_process(service)
        self.overrides.setdefault(service, {}).update(env)
        self.start_process(service, ["-m", service], self.service_env(service))
        self.wait_ready(timeout)

    def start_mail(self) -> Process:
        return self.start_process("mail", ["-m", "svckit.mailsink"],
                                  {**self.base_env(), "MAIL_DIR": str(self.folder / "mail")})

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes.values():
                if process.popen.poll() is not None:
                    raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.log()}")
            try:
                if requests.get(f"{self.gateway_url}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        logs = "\n".join(f"--- {p.name}\n{p.log()[-3000:]}" for p in self.processes.values())
        raise RuntimeError(f"the stack was not ready within {timeout} s\n{logs}")

    def health(self, service: str) -> str:
        with self.channel(service) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def stop(self, timeout: float = 15.0) -> dict[str, int]:
        """SIGTERM every process, wait, and answer their exit codes."""
        for process in self.processes.values():
            if process.popen.poll() is None:
                os.killpg(process.popen.pid, signal.SIGTERM)
        codes = {}
        for process in self.processes.values():
            try:
                codes[process.name] = process.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.popen.pid, signal.SIGKILL)
                codes[process.name] = process.popen.wait()
        return codes


def new_stack(folder: Path, amqp_url: str, databases, port_factory, **extra_env) -> Stack:
    names = ["gateway", "gateway_metrics", "smtp", *(f"{s}_{kind}" for s in SERVICES for kind in ("grpc", "metrics"))]
    return Stack(folder=folder, amqp_url=amqp_url,
                 database_urls={service: databases.new(service) for service in SERVICES},
                 ports={name: port_factory() for name in names}, extra_env=extra_env)
