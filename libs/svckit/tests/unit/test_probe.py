"""`python -m svckit.probe PROCESS`: the health check containers and Kubernetes run, over mutual TLS."""
import os
import subprocess
import sys

import pytest
from prometheus_client import CollectorRegistry

from svckit.server import GrpcHost


@pytest.fixture
def identity(certificates):
    host = GrpcHost(port=0, registrations=[], registry=CollectorRegistry(),
                    credentials=certificates.tls("identity").server_credentials())
    host.start()
    yield host
    host.drain(0)


def _probe(port, tls_env, *args):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TLS_", "GRPC_"))},
           "GRPC_PORT": str(port), **tls_env}
    return subprocess.run([sys.executable, "-m", "svckit.probe", *args], env=env, capture_output=True, text=True,
                          timeout=30)


def test_passes_only_once_the_service_is_serving(identity, certificates):
    waiting = _probe(identity.port, certificates.env("identity"), "identity")
    assert waiting.returncode == 1 and waiting.stderr.strip() == "identity: NOT_SERVING"
    identity.mark_ready()
    assert _probe(identity.port, certificates.env("identity"), "identity").returncode == 0


def test_fails_when_nothing_answers(certificates, port_factory):
    done = _probe(port_factory(), certificates.env("identity"), "identity", "--timeout", "0.5")
    assert done.returncode == 1 and done.stderr.strip().startswith("identity: no answer from 127.0.0.1:")


def test_fails_with_a_certificate_of_another_ca(identity, other_certificates):
    identity.mark_ready()
    done = _probe(identity.port, other_certificates.env("identity"), "identity", "--timeout", "1")
    assert done.returncode == 1 and f"identity: no answer from 127.0.0.1:{identity.port}: UNAVAILABLE" in done.stderr


def test_a_missing_setting_is_one_line(certificates, tmp_path):
    done = _probe(1, {**certificates.env("identity"), "TLS_KEY_FILE": str(tmp_path / "none.key")}, "identity")
    assert done.returncode == 2
    assert done.stderr.strip() == f"svckit.probe: TLS_KEY_FILE ({tmp_path}/none.key) cannot be read: No such file or directory"
