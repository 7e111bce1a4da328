"""`make run` stops the whole stack when one of its processes dies, as honcho promises: even when
reporting, after making a PDF report, is killed with SIGKILL (its PDF workers end with it)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from support.api import create_operator, register
from support.broker import isolated_vhost
from support.mailbox import Mailbox
from support.resources import DatabaseFactory
from support.stack import ROOT, SERVICES, Stack

pytestmark = pytest.mark.system


def _processes() -> dict[int, tuple[int, str, str]]:
    """Every process's parent, state and command line, from /proc."""
    found = {}
    for folder in Path("/proc").glob("[0-9]*"):
        try:
            stat = (folder / "stat").read_text()
            command = (folder / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        found[int(folder.name)] = (int(parent), state, command)
    return found


def _descendants(pid: int) -> set[int]:
    processes, found, todo = _processes(), set(), [pid]
    while todo:
        parent = todo.pop()
        children = {child for child, (ppid, _, _) in processes.items() if ppid == parent}
        found |= children
        todo += children
    return found


def _alive(pids: set[int]) -> set[int]:
    processes = _processes()
    return {pid for pid in pids if pid in processes and processes[pid][1] not in ("Z", "X")}


def _running(module: str, among: set[int]) -> int:
    """The process among `among` that runs `python -m <module>` (not the shell that started it)."""
    processes = _processes()
    found = [pid for pid in among if pid in processes and processes[pid][2].split()[1:3] == ["-m", module]]
    assert len(found) == 1, found
    return found[0]


def _ready(stack: Stack, make_run: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and make_run.poll() is None:
        try:
            if requests.get(f"{stack.gateway_url}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"make run was not ready:\n{log.read_text()[-5000:]}")


def test_kill_9_of_reporting_after_a_pdf_report_ends_make_run(tmp_path, amqp_url, port_factory):
    databases = DatabaseFactory(os.environ.get("TEST_POSTGRES_URL"), tmp_path)
    names = ["gateway", "gateway_metrics", "smtp", *(f"{s}_{kind}" for s in SERVICES for kind in ("grpc", "metrics"))]
    with isolated_vhost(amqp_url) as own_vhost:
        # The stack `make run` starts, described for the helpers that drive it through the gateway.
        stack = Stack(folder=tmp_path, amqp_url=own_vhost, ports={name: port_factory() for name in names},
                      database_urls={service: databases.new(service) for service in SERVICES})
        env = {key: value for key, value in os.environ.items() if not key.startswith("PROMETHEUS_")}
        env.update(VAR_DIR=str(tmp_path / "var"), MAIL_DIR=str(tmp_path / "mail"), AMQP_URL=own_vhost,
                   GATEWAY_PORT=str(stack.ports["gateway"]), GATEWAY_METRICS_PORT=str(stack.ports["gateway_metrics"]),
                   SMTP_PORT=str(stack.ports["smtp"]), PUBLIC_URL=stack.gateway_url, DRAIN_SECONDS="1",
                   WEB_PORT=str(port_factory()))
        for service in SERVICES:
            env.update({f"{service.upper()}_GRPC_PORT": str(stack.ports[f"{service}_grpc"]),
                        f"{service.upper()}_METRICS_PORT": str(stack.ports[f"{service}_metrics"]),
                        f"{service.upper()}_DATABASE_URL": stack.database_urls[service]})
        log = tmp_path / "make-run.log"
        with log.open("wb") as output:
            make_run = subprocess.Popen([sys.executable, "deploy/local/start.py"], cwd=ROOT, env=env, stdout=output,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        stack_processes: set[int] = set()
        try:
            _ready(stack, make_run, log, 120)
            operator = create_operator(stack, Mailbox(tmp_path / "mail"))
            organisation_id, admin = register(stack, Mailbox(tmp_path / "mail"), "Zorggroep Noord")
            assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
            pdf = admin.api.get(f"/organisations/{organisation_id}/reports/overview", params={"format": "pdf"})
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:500]

            stack_processes = _descendants(make_run.pid)
            reporting = _running("reporting", stack_processes)
            assert len(_descendants(reporting)) >= 2  # its PDF workers and the fork server that started them
            os.kill(reporting, signal.SIGKILL)
            make_run.wait(30)  # honcho saw reporting end, stopped the others, and ended itself
            deadline = time.monotonic() + 5
            while _alive(stack_processes) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _alive(stack_processes), log.read_text()[-3000:]
            assert "reporting.1 stopped" in log.read_text()
        finally:
            if make_run.poll() is None:
                os.killpg(make_run.pid, signal.SIGKILL)
                make_run.wait(10)
            for pid in _alive(stack_processes | _descendants(make_run.pid)):  # nothing outlives the test
                os.kill(pid, signal.SIGKILL)
            databases.drop_all()
