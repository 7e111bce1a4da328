"""The README's commands, tried as a newcomer would: on a clean clone, with nothing prepared."""
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import create_engine, text

from support.broker import isolated_vhost
from support.resources import DatabaseFactory
from support.stack import ROOT

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    folder = tmp_path_factory.mktemp("newcomer") / "pe-insight"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(folder)], check=True, timeout=120)
    return folder


def _newcomer_env(**extra):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("VIRTUAL_ENV", "PROMETHEUS_", "PYTEST", "TEST_"))}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if "/.venv/" not in p)
    env.update(extra)
    return env


def test_make_run_reaches_ready_and_stops_on_ctrl_c(clone, amqp_url, port_factory):
    with isolated_vhost(amqp_url) as own_vhost:
        _make_run_reaches_ready_and_stops(clone, own_vhost, port_factory)


def _make_run_reaches_ready_and_stops(clone, amqp_url, port_factory):
    ports = {name: port_factory() for name in (
        "GATEWAY_PORT", "SMTP_PORT", "IDENTITY_GRPC_PORT", "IDENTITY_METRICS_PORT", "ORGANISATION_GRPC_PORT",
        "ORGANISATION_METRICS_PORT", "CONSENT_GRPC_PORT", "CONSENT_METRICS_PORT", "REPORTING_GRPC_PORT",
        "REPORTING_METRICS_PORT")}
    env = _newcomer_env(AMQP_URL=amqp_url, **{k: str(v) for k, v in ports.items()})
    log = (clone.parent / "make-run.log").open("w+")
    make = subprocess.Popen(["make", "run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    ready_url = f"http://127.0.0.1:{ports['GATEWAY_PORT']}/readyz"
    try:
        deadline = time.monotonic() + 420  # includes creating the virtualenv on a clean clone
        ready = False
        while time.monotonic() < deadline and make.poll() is None and not ready:
            try:
                ready = requests.get(ready_url, timeout=2).status_code == 200
            except requests.RequestException:
                time.sleep(0.5)
        log.seek(0)
        output = log.read()
        assert ready, output[-5000:]
        assert f"http://127.0.0.1:{ports['GATEWAY_PORT']}/api/docs" in output
        assert requests.get(ready_url.replace("readyz", "api/docs"), timeout=5).status_code == 200
    finally:
        os.killpg(make.pid, signal.SIGINT)
        make.wait(60)
    with pytest.raises(requests.ConnectionError):
        requests.get(ready_url, timeout=2)


def test_make_run_without_a_broker_says_so_in_one_line(clone):
    result = subprocess.run(["make", "--silent", "run"], cwd=clone, capture_output=True, text=True, timeout=600,
                            env=_newcomer_env(AMQP_URL="amqp://guest:guest@127.0.0.1:1/%2F"))
    assert result.returncode != 0
    line = [l for l in result.stderr.splitlines() if l.startswith("pe-insight:")]
    assert len(line) == 1, result.stderr
    assert "AMQP_URL" in line[0] and "docker compose up -d rabbitmq" in line[0]


def _readme_command(words: str) -> list[str]:
    """The README's command line that contains `words`, as a list of arguments."""
    lines = [line for line in (ROOT / "README.md").read_text().splitlines()
             if words in line and line.startswith(".venv/bin/python ")]
    assert len(lines) == 1, lines
    return shlex.split(lines[0])


def test_the_readme_operator_command_writes_where_make_run_puts_identity(tmp_path):
    """With identity on its own database (PostgreSQL when TEST_POSTGRES_URL names a server), the
    README's create-operator command puts the operator there, and nothing in var/'s default file."""
    databases = DatabaseFactory(os.environ.get("TEST_POSTGRES_URL"), tmp_path)
    identity_url = databases.new("identity")
    var = tmp_path / "var"
    try:
        command = _readme_command("create-operator")
        env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
        env.update(IDENTITY_DATABASE_URL=identity_url, VAR_DIR=str(var))
        result = subprocess.run([sys.executable, *command[1:]], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        engine = create_engine(identity_url)
        try:
            with engine.connect() as connection:
                found = connection.execute(text("SELECT username, kind FROM accounts")).all()
        finally:
            engine.dispose()
        assert [(username, kind.lower()) for username, kind in found] == [("operator", "operator")]
        assert not list(var.glob("*.db")), "the operator went into an SQLite file under var/"
    finally:
        databases.drop_all()
