"""Offline checks of the container deployment: docker-compose.yml, deploy/Dockerfile,
deploy/prometheus, deploy/postgres and deploy/grafana (deploy/k8s: test_kubernetes.py).

No Docker engine is needed: the compose file is validated against the Compose Specification schema
(check-jsonschema's builtin copy), cross-checked against the services' own settings, the Makefile
and the Procfile, and its healthcheck one-liners are run here against stand-in servers.
"""
from __future__ import annotations

import http.server
import importlib
import json
import re
import socket
import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
INIT_DATABASES = ROOT / "deploy" / "postgres" / "init-databases.sh"
DASHBOARD = ROOT / "deploy" / "grafana" / "pe-insight-red.json"

GRPC_SERVICES = {"identity": (50051, 9101), "organisation": (50052, 9102),
                 "consent": (50053, 9103), "reporting": (50054, 9104)}
PE_SERVICES = [*GRPC_SERVICES, "gateway"]
INFRASTRUCTURE = ["rabbitmq", "postgres", "mailpit", "redis", "prometheus"]
GATEWAY_METRICS_PORT = 9100
AMQP_URL = "amqp://guest:guest@rabbitmq:5672/%2F"
PYTHON_M = re.compile(r"\bpython3?\s+-m\s+([A-Za-z_][\w.]*)")
# Every image of the stack that is not built here: the variable that names it and its official default.
OFFICIAL_IMAGES = {"rabbitmq": ("RABBITMQ_IMAGE", "rabbitmq:3.13-management"),
                   "postgres": ("POSTGRES_IMAGE", "postgres:16"),
                   "mailpit": ("MAILPIT_IMAGE", "axllent/mailpit"),
                   "prometheus": ("PROMETHEUS_IMAGE", "prom/prometheus"),
                   "redis": ("REDIS_IMAGE", "redis:7")}
IMAGE_VARIABLE = re.compile(r"^\$\{([A-Z][A-Z0-9_]*_IMAGE):-([^}]+)\}$")


# --- helpers ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _strings(node) -> list[str]:
    """Every string of a YAML tree; a list of strings also as one space-joined command line."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        found = [s for item in node for s in _strings(item)]
        if node and all(isinstance(item, str) for item in node):
            found.append(" ".join(node))
        return found
    return []


def _python_m_modules(text_or_tree) -> set[str]:
    texts = [text_or_tree] if isinstance(text_or_tree, str) else _strings(text_or_tree)
    return {m for text in texts for m in PYTHON_M.findall(text)}


def _source_roots(*groups: str) -> list[Path]:
    return sorted(p for group in groups for p in (ROOT / group).iterdir() if p.is_dir())


def _runnable(module: str, roots: list[Path]) -> Path | None:
    """The file `python -m module` runs, if the module is in one of the source roots."""
    parts = module.split(".")
    for root in roots:
        base = root.joinpath(*parts)
        packages_ok = all((root.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(1, len(parts)))
        if not packages_ok:
            continue
        if (base / "__main__.py").is_file():
            return base / "__main__.py"
        if base.with_suffix(".py").is_file():
            return base.with_suffix(".py")
    return None


VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*):-([^}]*)\}")


def _defaults(text: str) -> str:
    """A value as compose makes it when none of its ${NAME:-default} variables is set."""
    return VARIABLE.sub(lambda match: match.group(2), text)


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: _defaults(str(value)) for key, value in env.items()}


def _published(service: dict) -> set[str]:
    published = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            published.add(f"{port['published']}:{port['target']}")
        else:
            port = _defaults(str(port)).split("/")[0]
            assert port.startswith("127.0.0.1:"), f"{port}: published on this machine's loopback only"
            published.add(port.removeprefix("127.0.0.1:"))
    return published


def _depends_on(service: dict) -> dict[str, str]:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: spec.get("condition", "service_started") for name, spec in depends.items()}


def _probe_command(service: dict) -> list[str]:
    """A gRPC service's healthcheck: `python -m svckit.probe NAME`, which shows a client certificate."""
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD", f"expected [CMD, python, -m, svckit.probe, NAME], got {test}"
    return test[1:]


def _healthcheck_code(service: dict) -> str:
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], f"expected [CMD, python, -c, code], got {test[:3]}"
    return test[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_code(code: str) -> int:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode


def _load_settings(module: str, env: dict[str, str]):
    return importlib.import_module(f"{module}.config").load(env)


# --- (a) the Compose Specification ------------------------------------------------------------------

def test_compose_file_is_valid_against_the_compose_spec():
    check = Path(sys.executable).parent / "check-jsonschema"
    assert check.exists(), f"{check} is missing: run `make venv`"
    result = subprocess.run([str(check), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- (b) services, healthchecks, ports, environment, dependencies, scraping ---------------------------

def test_every_process_and_the_infrastructure_are_in_the_stack(compose):
    services = compose["services"]
    assert set(PE_SERVICES + INFRASTRUCTURE) <= set(services), sorted(services)
    for name, (variable, official) in OFFICIAL_IMAGES.items():
        # A user with a registry changes nothing: the variable's default is the official image.
        assert IMAGE_VARIABLE.fullmatch(services[name]["image"]).groups() == (variable, official)
    # The one image, built once (by the gateway's service) and run by every pe-insight container.
    builders = [name for name, service in services.items() if "build" in service]
    assert builders == ["gateway"], builders
    build = services["gateway"]["build"]
    assert build["dockerfile"] == "deploy/Dockerfile" and (ROOT / build["context"] / build["dockerfile"]).is_file()
    assert build["args"] == {"PYTHON_IMAGE": "${PYTHON_IMAGE:-python:3.11-slim}"}
    image = services["gateway"]["image"]
    for name, service in services.items():
        if _python_m_modules(service.get("command", [])) & set(PE_SERVICES):
            assert service["image"] == image, name
            assert service["pull_policy"] == ("build" if name == "gateway" else "never"), name


def test_each_process_runs_its_own_module(compose):
    for name in PE_SERVICES:
        assert _python_m_modules(compose["services"][name]["command"]) == {name}


@pytest.mark.parametrize("name", list(GRPC_SERVICES))
def test_grpc_service_ports_environment_and_dependencies(compose, name):
    service = compose["services"][name]
    grpc_port, metrics_port = GRPC_SERVICES[name]
    env = _env(service)
    assert env["GRPC_PORT"] == str(grpc_port)
    assert env["METRICS_PORT"] == str(metrics_port)
    assert env["DATABASE_URL"] == f"postgresql+psycopg://postgres:postgres@postgres:5432/{name}"
    assert env["AMQP_URL"] == AMQP_URL
    assert env["SMTP_HOST"] == "mailpit" and env["SMTP_PORT"] == "1025"

    # The service's own config.py reads this environment into the settings meant.
    settings = _load_settings(name, env)
    assert (settings.grpc_port, settings.metrics_port) == (grpc_port, metrics_port)
    assert settings.database_url == env["DATABASE_URL"]
    # Reached by the other containers (and Prometheus), over mutual TLS with its own certificate.
    assert (settings.bind_host, settings.metrics_bind_host, settings.reflection) == ("0.0.0.0", "0.0.0.0", False)
    _assert_certificates_from_secrets(compose, service, settings.tls, name)

    depends = _depends_on(service)
    assert depends.get("postgres") == "service_healthy"
    if hasattr(settings, "amqp_url"):
        assert settings.amqp_url == AMQP_URL
        assert depends.get("rabbitmq") == "service_healthy", f"{name} uses RabbitMQ"
    if hasattr(settings, "smtp_host"):
        assert (settings.smtp_host, settings.smtp_port) == ("mailpit", 1025)
        assert depends.get("mailpit") == "service_healthy", f"{name} sends mail"

    assert _probe_command(service) == ["python", "-m", "svckit.probe", name]
    assert not _published(service), "gRPC services are reached on the compose network only"


def _assert_certificates_from_secrets(compose: dict, service: dict, tls, name: str) -> None:
    """TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE are the service's secrets, made into deploy/tls/."""
    assert tls is not None and tls.process == name
    secrets = compose["secrets"]
    expected = {tls.ca_file: "ca.crt", tls.cert_file: f"{name}.crt", tls.key_file: f"{name}.key"}
    for path, made in expected.items():
        secret = path.removeprefix("/run/secrets/")
        assert path.startswith("/run/secrets/") and secret in service["secrets"], f"{name}: {path}"
        assert secrets[secret]["file"] == f"./deploy/tls/{made}"


def test_gateway_ports_environment_and_dependencies(compose):
    gateway = compose["services"]["gateway"]
    env = _env(gateway)
    # dns:///: the client resolves the name itself and balances over every replica it resolves to.
    expected_addrs = {f"{name.upper()}_ADDR": f"dns:///{name}:{port}" for name, (port, _) in GRPC_SERVICES.items()}
    assert {key: env.get(key) for key in expected_addrs} == expected_addrs
    assert env["GATEWAY_PORT"] == "8080"
    assert not _published(gateway), "clients reach the gateways through nginx"

    settings = _load_settings("gateway", env)
    assert settings.port == 8080
    assert (settings.identity_addr, settings.organisation_addr, settings.consent_addr,
            settings.reporting_addr) == tuple(expected_addrs.values())
    _assert_certificates_from_secrets(compose, gateway, settings.tls, "gateway")
    # /metrics on its own port, for Prometheus on the compose network, not published on the host.
    assert (settings.metrics_host, settings.metrics_port) == ("0.0.0.0", GATEWAY_METRICS_PORT)
    assert not any(port.endswith(f":{GATEWAY_METRICS_PORT}") for port in _published(gateway))
    # The workers share their rate-limit counts in the stack's Redis.
    assert settings.rate_limit_storage_url == "redis://redis:6379/0"
    # One proxy (nginx) in front: the client is the address it appends to X-Forwarded-For.
    assert settings.trusted_proxy_hops == 1

    assert _depends_on(gateway) == {**{name: "service_healthy" for name in GRPC_SERVICES}, "redis": "service_healthy"}
    code = _healthcheck_code(gateway)
    assert "http://127.0.0.1:8080/healthz" in code


def test_infrastructure_healthchecks_and_published_ports(compose):
    services = compose["services"]
    assert "rabbitmq-diagnostics" in services["rabbitmq"]["healthcheck"]["test"]
    # Healthy once AMQP accepts connections, not when the node merely runs (`ping`).
    assert "check_port_connectivity" in services["rabbitmq"]["healthcheck"]["test"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "healthcheck" in services["mailpit"]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert _published(services["rabbitmq"]) == {"15672:15672"}
    assert _published(services["mailpit"]) == {"8025:8025"}
    assert _published(services["prometheus"]) == {"9090:9090"}
    for name in PE_SERVICES:
        depends = _depends_on(services[name])
        for dependency in set(depends) & {"rabbitmq", "postgres", "mailpit", "redis"}:
            assert "healthcheck" in services[dependency], f"{name} waits for {dependency} to be healthy"


def test_postgres_init_script_creates_every_service_database(compose):
    postgres = compose["services"]["postgres"]
    mounts = [v for v in postgres["volumes"] if isinstance(v, str)]
    assert any(m.startswith("./deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/") for m in mounts)
    assert INIT_DATABASES.stat().st_mode & 0o111, "init-databases.sh must be executable"
    assert subprocess.run(["bash", "-n", str(INIT_DATABASES)]).returncode == 0
    listed = re.search(r"PE_DATABASES:-([\w ]+)\}", INIT_DATABASES.read_text())
    assert listed, "init-databases.sh names its databases in ${PE_DATABASES:-...}"
    wanted = {_env(compose["services"][name])["DATABASE_URL"].rsplit("/", 1)[1] for name in GRPC_SERVICES}
    assert wanted == set(listed.group(1).split())
    env = postgres["environment"]
    assert env["POSTGRES_USER"] == "postgres" and env["POSTGRES_PASSWORD"] == "postgres"


def test_prometheus_scrapes_every_process(compose):
    mounts = compose["services"]["prometheus"]["volumes"]
    assert any(m.startswith("./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml") for m in mounts)
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    scraped = set()
    for job in config["scrape_configs"]:
        path = job.get("metrics_path", "/metrics")
        for static in job.get("static_configs", []):
            scraped |= {f"{target}{path}" for target in static["targets"]}
        # Every replica is a target of its own: the service's name asked of compose's DNS (type A).
        for found in job.get("dns_sd_configs", []):
            assert found["type"] == "A", "a name's A records are its replicas"
            scraped |= {f"{name}:{found['port']}{path}" for name in found["names"]}
    for name in GRPC_SERVICES:
        assert f"{name}:{_env(compose['services'][name])['METRICS_PORT']}/metrics" in scraped
    assert f"gateway:{_env(compose['services']['gateway'])['GATEWAY_METRICS_PORT']}/metrics" in scraped
    assert {"identity:9101/metrics", "organisation:9102/metrics", "consent:9103/metrics",
            "reporting:9104/metrics", "gateway:9100/metrics"} <= scraped
    assert "gateway:8080/metrics" not in scraped, "the API's port answers 404 for /metrics"


# --- replicas, the migrate steps, nginx in front, the ha profile -----------------------------------

NGINX_CONF = ROOT / "deploy" / "nginx" / "pe-insight.conf"
CLUSTER_CONF = ROOT / "deploy" / "rabbitmq" / "cluster.conf"
HA_ENV = ROOT / "deploy" / "compose" / "ha.env"


def test_two_replicas_of_every_pe_insight_process_restarted_when_they_die(compose):
    for name in PE_SERVICES:
        service = compose["services"][name]
        assert service["deploy"]["replicas"] == 2, name
        assert service["restart"] == "unless-stopped", name
        # Replicas are told apart by compose; a fixed container name or host port would clash.
        assert "container_name" not in service and not _published(service), name


def test_postgres_takes_every_replicas_connections_and_drops_those_of_vanished_clients(compose):
    import inspect

    from svckit.db import make_engine

    # What one process may hold: svckit.db's pool, and as many again in overflow.
    per_process = 2 * inspect.signature(make_engine).parameters["pool_size"].default
    command = compose["services"]["postgres"]["command"]
    settings = dict(item.split("=", 1) for item in command[2::2])
    replicas = sum(compose["services"][name]["deploy"]["replicas"] for name in GRPC_SERVICES)
    assert command[0] == "postgres" and command[1::2][:len(settings)] == ["-c"] * len(settings)
    assert int(settings["max_connections"]) >= replicas * per_process + 20  # migrate steps, psql
    assert int(settings["tcp_keepalives_idle"]) <= 60


@pytest.mark.parametrize("name", list(GRPC_SERVICES))
def test_each_service_migrates_once_before_its_replicas_start(compose, name):
    migrate = compose["services"][f"{name}-migrate"]
    replicas = compose["services"][name]
    assert migrate["command"] == ["python", "-m", name, "migrate"]
    assert migrate["restart"] == "no" and "deploy" not in migrate, "one run, once"
    assert migrate["image"] == replicas["image"]
    assert _env(migrate)["DATABASE_URL"] == _env(replicas)["DATABASE_URL"]
    assert set(migrate["secrets"]) == set(replicas["secrets"])
    assert _depends_on(migrate) == {"postgres": "service_healthy"}
    assert _depends_on(replicas)[f"{name}-migrate"] == "service_completed_successfully"
    # The replicas only check that the schema is current.
    assert _load_settings(name, _env(replicas)).migrate_on_start is False
    assert _load_settings(name, {**_env(replicas), "MIGRATE_ON_START": "1"}).migrate_on_start is True


def test_nginx_publishes_the_api_and_passes_the_client_address_to_every_gateway(compose):
    nginx = compose["services"]["nginx"]
    assert IMAGE_VARIABLE.fullmatch(nginx["image"]).groups() == ("NGINX_IMAGE", "nginx")
    assert _published(nginx) == {"8080:80"}
    assert "./deploy/nginx/pe-insight.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    assert _depends_on(nginx) == {"gateway": "service_healthy", "web": "service_healthy"}
    conf = NGINX_CONF.read_text()
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;", conf)
    # The gateways' addresses are looked up in compose's DNS as requests come (a restarted replica
    # may have another address), so proxy_pass names them through a variable.
    assert re.search(r"^resolver 127\.0\.0\.11\b", conf, re.M)
    assert re.search(r"set \$(\w+) gateway;", conf) and "proxy_pass http://$gateways:8080;" in conf
    gateway_port = _env(compose["services"]["gateway"])["GATEWAY_PORT"]
    assert f":{gateway_port};" in conf


def test_ha_profile_is_a_three_node_cluster_the_services_can_use(compose):
    services = compose["services"]
    nodes = [f"rabbitmq-{n}" for n in (1, 2, 3)]
    for number, node in enumerate(nodes, 1):
        service = services[node]
        assert service["profiles"] == ["ha"] and service["hostname"] == node
        assert service["image"] == services["rabbitmq"]["image"]
        assert "rabbitmq-cluster" in service["networks"]["default"]["aliases"]
        assert "./deploy/rabbitmq/cluster.conf:/etc/rabbitmq/rabbitmq.conf:ro" in service["volumes"]
        assert service["environment"]["RABBITMQ_ERLANG_COOKIE"] == services["rabbitmq-1"]["environment"]["RABBITMQ_ERLANG_COOKIE"]
        # They join one after another, each through the node before it.
        assert _depends_on(service) == ({} if number == 1 else {f"rabbitmq-{number - 1}": "service_healthy"})
    members = set(re.findall(r"^cluster_formation\.classic_config\.nodes\.\d+ = rabbit@(\S+)$",
                             CLUSTER_CONF.read_text(), re.M))
    assert members == set(nodes)
    assert "profiles" not in services["rabbitmq"], "the single broker runs without the ha profile"
    ha_url = dict(line.split("=", 1) for line in HA_ENV.read_text().splitlines()
                  if line and not line.startswith("#"))["PE_AMQP_URL"]
    assert ha_url == "amqp://guest:guest@rabbitmq-cluster:5672/%2F"
    for name in GRPC_SERVICES:
        raw = services[name]["environment"]["AMQP_URL"]
        assert raw == "${PE_AMQP_URL:-" + AMQP_URL + "}"
        # With the ha profile the services wait for the whole cluster; without it, for the single broker.
        depends = services[name]["depends_on"]
        assert depends["rabbitmq-3"] == {"condition": "service_healthy", "required": False}


def test_web_pages_run_twice_share_their_sessions_and_call_the_gateways(compose):
    services = compose["services"]
    web = services["web"]
    assert _python_m_modules(web["command"]) == {"web"}
    assert web["image"] == services["gateway"]["image"] and web["pull_policy"] == "never"
    assert web["deploy"]["replicas"] == 2 and web["restart"] == "unless-stopped"
    assert "container_name" not in web and not _published(web), "people reach the pages through nginx"
    env = _env(web)
    # The web's own config.py reads this environment into the settings meant; the key from its secret.
    secret = env["WEB_SECRET_KEY_FILE"].removeprefix("/run/secrets/")
    assert secret in web["secrets"] and compose["secrets"][secret]["file"] == "./deploy/tls/web-secret-key"
    settings = _load_settings("web", {**env, "WEB_SECRET_KEY_FILE": str(Path(__file__))})
    assert (settings.bind_host, settings.port) == ("0.0.0.0", 8000)
    # The replicas keep the sessions in the stack's Redis, not each in its own memory.
    assert settings.session_store_url.startswith("redis://redis:6379/")
    assert settings.session_store_url != _env(services["gateway"])["RATE_LIMIT_STORAGE_URL"]
    gateway_port = _env(services["gateway"])["GATEWAY_PORT"]
    assert settings.gateway_url == f"http://gateway:{gateway_port}"
    # Behind nginx: the person's address (which the gateways count rate limits by) is the one it saw.
    assert settings.trusted_proxy_hops == 1
    # Links in mails open the pages: the services' public address is nginx's, where the pages are.
    published = {p.split(":")[0] for p in _published(services["nginx"])}
    assert settings.public_url == _env(services["identity"])["PUBLIC_URL"] == f"http://127.0.0.1:{published.pop()}"
    assert _depends_on(web) == {"gateway": "service_healthy", "redis": "service_healthy"}
    assert "http://127.0.0.1:8000/healthz" in _healthcheck_code(web)
    # nginx: the API and the gateways' probes to the gateways, everything else to the pages.
    conf = NGINX_CONF.read_text()
    api = re.search(r"location ~ \^/\(([^)]*)\)", conf).group(1).split("|")
    assert api == ["api/", r"\.well-known/", "healthz$", "readyz$"]
    pages = re.search(r"location / \{\s*set \$(\w+) web;\s*proxy_pass http://\$\1:8000;[^}]*\}", conf)
    assert pages, "nginx sends what is not the API to the pages"
    # A page's 502 or 503 tells of the gateways; asking the other web replica would only ask them again.
    assert "proxy_next_upstream error timeout;" in pages.group(0)


def test_web_secret_key_file_is_read_and_checked(tmp_path):
    from svckit.config import SettingError
    key = tmp_path / "web-secret-key"
    key.write_text("k" * 40 + "\n")
    assert _load_settings("web", {"WEB_SECRET_KEY_FILE": str(key)}).secret_key == "k" * 40
    key.write_text("short\n")
    with pytest.raises(SettingError, match="at least 32"):
        _load_settings("web", {"WEB_SECRET_KEY_FILE": str(key)})
    with pytest.raises(SettingError, match="cannot be read"):
        _load_settings("web", {"WEB_SECRET_KEY_FILE": str(tmp_path / "absent")})


# --- the healthchecks, run against stand-in servers ------------------------------------------------

@pytest.fixture(params=list(GRPC_SERVICES))
def health_server(request, certificates):
    """A stand-in for a service: health only, with the service's certificate of the tests' CA, and
    requiring one of the same CA from its callers."""
    grpc = pytest.importorskip("grpc")
    from grpc_health.v1 import health, health_pb2_grpc
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_secure_port("127.0.0.1:0", certificates.tls(request.param).server_credentials())
    server.start()
    yield request.param, servicer, port
    server.stop(0)


def _run_probe(compose, name: str, port: int, certificates) -> int:
    """The service's healthcheck command with its compose environment, the secrets' paths replaced
    by the tests' certificates and GRPC_PORT by the stand-in's."""
    env = {**_env(compose["services"][name]), **certificates.env(name), "GRPC_PORT": str(port),
           "PATH": str(Path(sys.executable).parent)}
    command = _probe_command(compose["services"][name])
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, timeout=30).returncode


def test_grpc_healthcheck_passes_only_when_serving(compose, health_server, certificates):
    from grpc_health.v1 import health_pb2
    name, servicer, port = health_server
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    assert _run_probe(compose, name, port, certificates) == 0
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    assert _run_probe(compose, name, port, certificates) != 0


def test_grpc_healthcheck_fails_when_nothing_listens(compose, certificates):
    assert _run_probe(compose, "identity", _free_port(), certificates) != 0


@pytest.mark.parametrize(("name", "port"), [("gateway", 8080), ("web", 8000)])
def test_http_healthcheck_follows_healthz(compose, name, port):
    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            status = state["status"] if self.path == "/healthz" else 404
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code = _healthcheck_code(compose["services"][name])
        assert f"http://127.0.0.1:{port}/healthz" in code
        code = code.replace(f"127.0.0.1:{port}", f"127.0.0.1:{server.server_address[1]}")
        assert _run_code(code) == 0
        state["status"] = 500
        assert _run_code(code) != 0
    finally:
        server.shutdown()
        server.server_close()


# --- (c) every `python -m` names a module that exists ---------------------------------------------

def test_compose_python_m_modules_exist_under_services(compose):
    modules = _python_m_modules(compose)
    assert set(PE_SERVICES) <= modules
    service_roots, all_roots = _source_roots("services"), _source_roots("services", "libs")
    # The processes live in services/; the healthchecks' probe (svckit.probe) in libs/.
    missing = sorted(m for m in modules
                     if _runnable(m, all_roots if m.startswith("svckit.") else service_roots) is None)
    assert not missing, f"docker-compose.yml runs modules not in the source tree: {missing}"


def test_procfile_python_m_modules_exist():
    modules = _python_m_modules((ROOT / "Procfile").read_text())
    assert set(PE_SERVICES) <= modules
    service_roots, all_roots = _source_roots("services"), _source_roots("services", "libs")
    for module in modules:
        # The Procfile's development mail sink (svckit.mailsink) lives in libs/, the rest in services/.
        roots = all_roots if module.startswith("svckit.") else service_roots
        assert _runnable(module, roots) is not None, f"Procfile runs {module}, which is not in the source tree"


def test_runnable_module_check_rejects_a_missing_module():
    assert _runnable("identity", _source_roots("services")) is not None
    assert _runnable("idenity", _source_roots("services")) is None
    assert _runnable("svckit.mailsink", _source_roots("services")) is None


# --- the Dockerfile and its build context --------------------------------------------------------

def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
            for line in (raw.strip() for raw in text.splitlines()) if line and not line.startswith("#")]


def test_dockerfile_installs_what_the_makefile_installs():
    instructions = _dockerfile_instructions()
    froms = [args for op, args in instructions if op == "FROM"]
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", DOCKERFILE.read_text(), re.M)
    assert base and base.group(1) == "python:3.11-slim"
    assert len(froms) >= 2 and all(f.startswith(("${PYTHON_IMAGE}", "python:3.11-slim")) for f in froms)

    makefile = (ROOT / "Makefile").read_text()
    packages = re.search(r"^PACKAGES := (.+)$", makefile, re.M).group(1).split()
    runs = " ".join(args for op, args in instructions if op == "RUN")
    installs = re.search(r"pip install -c constraints\.txt((?:\s+-e\s+\S+)+)", runs)
    assert installs, "the image installs the packages with -c constraints.txt and -e"
    assert installs.group(1).split()[1::2] == packages
    assert "grpc_tools.protoc -I protos" in runs and "--grpc_python_out=gen/python" in runs
    env = " ".join(args for op, args in instructions if op == "ENV").split()
    # The generated code on the path in the image: the gRPC code and the web's client of the gateway.
    assert "PYTHONPATH=/app/gen/python:/app/gen/web-client" in env, "the generated code is on the path in the image"


def test_dockerfile_runs_as_a_non_root_user_and_selects_the_process():
    instructions = _dockerfile_instructions()
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    service = re.search(r"^ARG SERVICE=(\w+)", DOCKERFILE.read_text(), re.M)
    assert service and _runnable(service.group(1), _source_roots("services"))
    cmd = [args for op, args in instructions if op == "CMD"][-1]
    assert "python -m" in cmd and "$PE_SERVICE" in cmd


def test_dockerignore_keeps_local_state_out_but_not_what_the_build_copies():
    patterns = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    for required in (".venv", "var", "gen", ".git"):
        assert required in patterns
    assert any("__pycache__" in p for p in patterns)
    for op, args in _dockerfile_instructions():
        if op == "COPY" and not args.startswith("--from"):
            *sources, _dest = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert source.split("/")[0] not in patterns, f"COPY {source}: excluded by .dockerignore"


# --- the Grafana dashboard ----------------------------------------------------------------------

def test_grafana_dashboard_plots_metrics_the_code_exports():
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = " ".join(t["expr"] for panel in dashboard["panels"] for t in panel["targets"])
    sources = ((ROOT / "libs/svckit/svckit/grpc_metrics.py").read_text()
               + (ROOT / "services/gateway/gateway/metrics.py").read_text())
    for metric in ("grpc_server_handled_total", "grpc_server_handling_seconds",
                   "pe_gateway_http_requests_total", "pe_gateway_http_request_duration_seconds"):
        assert metric in exprs
        assert f'"{metric}"' in sources, f"{metric} is not exported by the code any more"
