"""The Kubernetes base, deploy/k8s, as `kubectl kustomize` renders it.

Every rendered object is validated against the schemas of a current Kubernetes release
(kubernetes-validate --strict), then checked for what a deployment needs: two replicas apart from
each other, a PodDisruptionBudget each, headless Services for the gRPC services, probes, a restricted
security context, resources, the migrate step, Secrets referenced and never inlined, an Ingress, and
NetworkPolicies that let through exactly the calls the services' peers.py allow-lists name.
"""
from __future__ import annotations

import base64
import copy
import importlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from support.kubernetes import EVERY_PORT, EVERYONE, Network, Outside, quantity, render, validate

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.37.0"

GRPC_SERVICES = {"identity": (50051, 9101), "organisation": (50052, 9102),
                 "consent": (50053, 9103), "reporting": (50054, 9104)}
PROCESSES = [*GRPC_SERVICES, "gateway", "web"]
GATEWAY_PORT, GATEWAY_METRICS_PORT, WEB_PORT = 8080, 9100, 8000
REPLICAS = 2

# Who is let in from outside the namespace, and the infrastructure let out to, as the README says.
INGRESS_CONTROLLER = Outside(frozenset({("kubernetes.io/metadata.name", "ingress-nginx")}),
                             frozenset({("app.kubernetes.io/name", "ingress-nginx")}))
PROMETHEUS = Outside(frozenset({("kubernetes.io/metadata.name", "monitoring")}),
                     frozenset({("app.kubernetes.io/name", "prometheus")}))
DNS = Outside(frozenset({("kubernetes.io/metadata.name", "kube-system")}), frozenset({("k8s-app", "kube-dns")}))
INFRASTRUCTURE_LABEL = "pe-insight/infrastructure"
INFRASTRUCTURE_PORTS = {"postgres": {5432}, "rabbitmq": {5672, 5671}, "smtp": {25, 465, 587, 1025}, "redis": {6379}}

# Settings that carry a credential: they must come from a Secret, never from the manifests.
SECRET_SETTINGS = {"DATABASE_URL", "AMQP_URL", "RATE_LIMIT_STORAGE_URL", "SIGNING_KEY_ENCRYPTION_KEY",
                   "WEB_SESSION_STORE_URL", "WEB_SECRET_KEY"}
CREDENTIAL_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    return render(K8S_DIR)


@pytest.fixture(scope="module")
def deployments(rendered) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in rendered if d["kind"] == "Deployment"}


@pytest.fixture(scope="module")
def config_map(rendered) -> dict[str, str]:
    (config,) = [d for d in rendered if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "pe-insight"]
    return config["data"]


@pytest.fixture(scope="module")
def network(rendered) -> Network:
    return Network(rendered)


def _of_kind(rendered: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in rendered if d["kind"] == kind}


def _containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def _main(deployment: dict) -> dict:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _values(container: dict) -> dict[str, str]:
    """The plain values of a container's env (the ones from Secrets are absent)."""
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def _secret_refs(container: dict) -> dict[str, tuple[str, str]]:
    return {e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}


def _settings(name: str, deployment: dict, config_map: dict[str, str]):
    """The process's own settings (its config.py) from what its container is given; the values of
    Secrets are stand-ins of the right form."""
    stand_ins = {"DATABASE_URL": "postgresql+psycopg://u:p@postgres:5432/db", "AMQP_URL": "amqp://u:p@rabbitmq:5672/%2F",
                 "RATE_LIMIT_STORAGE_URL": "redis://:p@redis:6379/0",
                 "WEB_SESSION_STORE_URL": "redis://:p@redis:6379/1", "WEB_SECRET_KEY": "k" * 64,
                 "SIGNING_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()}
    container = _main(deployment)
    env = {**config_map, **_values(container), **{k: stand_ins.get(k, "x") for k in _secret_refs(container)}}
    return importlib.import_module(f"{name}.config").load(env)


def _address(target: str) -> str:
    """host:port of a gRPC target, with or without the dns:/// scheme that resolves every address."""
    return target.removeprefix("dns:///")


def _callers(service: str) -> set[str]:
    """Every process the service's peers.py lets call one of its methods."""
    allowed = importlib.import_module(f"{service}.peers").ALLOWED_PEERS
    return set().union(*allowed.values())


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())


# --- rendered and valid ---------------------------------------------------------------------------

def test_kubectl_kustomize_renders_objects_kubernetes_accepts(rendered, tmp_path):
    kinds = {(d["kind"], d["metadata"]["name"]) for d in rendered}
    for name in PROCESSES:
        assert {("Deployment", name), ("Service", name), ("PodDisruptionBudget", name),
                ("NetworkPolicy", name)} <= kinds
    assert ("Ingress", "gateway") in kinds and ("NetworkPolicy", "default-deny") in kinds
    result = validate(rendered, KUBERNETES_VERSION, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(f"against version {KUBERNETES_VERSION.rsplit('.', 1)[0]}") == len(rendered)


def test_strict_validation_rejects_a_misspelt_field(rendered, tmp_path):
    """The validation above is strict: an unknown field is an error, not ignored."""
    deployment = copy.deepcopy(next(d for d in rendered if d["kind"] == "Deployment"))
    deployment["spec"]["replica"] = deployment["spec"].pop("replicas")
    result = validate([deployment], KUBERNETES_VERSION, tmp_path)
    assert result.returncode != 0 and "replica" in result.stdout + result.stderr


def test_every_object_is_labelled_as_part_of_pe_insight(rendered, deployments):
    assert all(d["metadata"]["labels"]["app.kubernetes.io/part-of"] == "pe-insight" for d in rendered)
    for deployment in deployments.values():
        assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "pe-insight"


# --- replicas, disruption, spread ----------------------------------------------------------------

def test_each_process_runs_two_replicas_that_a_rollout_never_takes_below_that(deployments):
    assert set(deployments) == set(PROCESSES)
    for name, deployment in deployments.items():
        assert deployment["spec"]["replicas"] == REPLICAS, name
        rolling = deployment["spec"]["strategy"]["rollingUpdate"]
        assert deployment["spec"]["strategy"]["type"] == "RollingUpdate" and rolling["maxUnavailable"] == 0, name


def test_each_deployment_has_a_pod_disruption_budget_of_its_own(rendered, deployments):
    budgets = _of_kind(rendered, "PodDisruptionBudget")
    for name, deployment in deployments.items():
        pods = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets.values() if _selects(b["spec"]["selector"], pods)]
        assert len(covering) == 1, f"{name}: {len(covering)} budgets"
        (budget,) = covering
        assert budget["spec"]["minAvailable"] == 1 and "maxUnavailable" not in budget["spec"]
        others = [n for n, d in deployments.items()
                  if n != name and _selects(budget["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])]
        assert not others, f"{name}'s budget also covers {others}"
    assert len(budgets) == len(deployments)


def test_the_two_replicas_are_spread_over_nodes(deployments):
    for name, deployment in deployments.items():
        spec = deployment["spec"]["template"]["spec"]
        pods = deployment["spec"]["template"]["metadata"]["labels"]
        by_node = [c for c in spec.get("topologySpreadConstraints", [])
                   if c["topologyKey"] == "kubernetes.io/hostname"]
        assert by_node, f"{name}: no spread over nodes"
        (constraint,) = by_node
        assert constraint["whenUnsatisfiable"] == "DoNotSchedule" and constraint["maxSkew"] == 1
        assert _selects(constraint["labelSelector"], pods)


# --- Services and the Ingress ----------------------------------------------------------------------

def test_grpc_services_are_headless_and_reach_their_own_pods(rendered, deployments, config_map):
    services = _of_kind(rendered, "Service")
    assert set(services) == set(PROCESSES)
    for name, service in services.items():
        spec = service["spec"]
        matched = [n for n, d in deployments.items() if _selects({"matchLabels": spec["selector"]},
                                                                 d["spec"]["template"]["metadata"]["labels"])]
        assert matched == [name]
        container_ports = {p["name"]: p["containerPort"] for p in _main(deployments[name])["ports"]}
        ports = {p["name"]: p for p in spec["ports"]}
        assert all(p["targetPort"] in container_ports for p in ports.values())
        if name in GRPC_SERVICES:
            # Each gRPC client resolves every pod's address and balances its calls over them.
            assert spec.get("clusterIP") == "None", f"{name}: the gRPC Service must be headless"
            grpc_port, metrics_port = GRPC_SERVICES[name]
            assert ports["grpc"]["port"] == container_ports["grpc"] == grpc_port
            assert ports["grpc"]["appProtocol"] == "grpc"
            assert ports["metrics"]["port"] == container_ports["metrics"] == metrics_port
            host, port = _address(config_map[f"{name.upper()}_ADDR"]).split(":")
            assert (host, int(port)) == (name, grpc_port)
        else:
            assert spec.get("clusterIP") != "None" and spec.get("type", "ClusterIP") == "ClusterIP"
            http_port = WEB_PORT if name == "web" else GATEWAY_PORT
            assert ports["http"]["port"] == container_ports["http"] == http_port


def test_the_ingress_serves_the_pages_and_the_api_over_https_at_the_public_url(rendered, deployments, config_map):
    (ingress,) = _of_kind(rendered, "Ingress").values()
    spec = ingress["spec"]
    host = urlsplit(config_map["PUBLIC_URL"]).hostname
    assert urlsplit(config_map["PUBLIC_URL"]).scheme == "https"
    assert spec["ingressClassName"] == "nginx"
    assert [rule["host"] for rule in spec["rules"]] == [host]
    (tls,) = spec["tls"]
    assert tls["hosts"] == [host] and tls["secretName"] == "pe-insight-ingress-tls"
    # The pages at /, where the links in mails (PUBLIC_URL) open them; the API and its keys on the gateway.
    paths = {p["path"]: (p["pathType"], p["backend"]["service"]) for p in spec["rules"][0]["http"]["paths"]}
    assert paths == {"/": ("Prefix", {"name": "web", "port": {"name": "http"}}),
                     "/api": ("Prefix", {"name": "gateway", "port": {"name": "http"}}),
                     "/.well-known": ("Prefix", {"name": "gateway", "port": {"name": "http"}})}
    web = _settings("web", deployments["web"], config_map)
    assert web.public_url == config_map["PUBLIC_URL"] and web.gateway_url == f"http://gateway:{GATEWAY_PORT}"
    assert web.trusted_proxy_hops == 1
    # One proxy in front: the gateway takes the address the controller saw as the client's.
    assert _values(_main(deployments["gateway"]))["TRUSTED_PROXY_HOPS"] == "1"


# --- the containers ----------------------------------------------------------------------------------

def test_deployments_run_their_process_with_probes_config_and_scrape_annotations(deployments, config_map):
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        container = _main(deployment)
        assert container["command"] == ["python", "-m", name]
        assert [e["configMapRef"]["name"] for e in container["envFrom"]] == ["pe-insight"]
        env = _values(container)
        settings = _settings(name, deployment, config_map)
        ready, live = container["readinessProbe"], container["livenessProbe"]
        if name == "web":
            # A client of the gateway's API over HTTP: no certificate, no metrics port of its own.
            assert ready["httpGet"] == live["httpGet"] == {"path": "/healthz", "port": "http"}
            assert (settings.bind_host, settings.port) == ("0.0.0.0", WEB_PORT)
            assert [p["containerPort"] for p in container["ports"]] == [WEB_PORT]
            assert "volumes" not in pod["spec"] or not [v for v in pod["spec"]["volumes"] if "secret" in v]
            continue
        annotations = pod["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
        _assert_certificate_mounted(pod, container, settings, name)
        if name in GRPC_SERVICES:
            grpc_port, metrics_port = GRPC_SERVICES[name]
            # Kubernetes' grpc probe shows no client certificate, so the probe runs in the pod.
            probe = ["python", "-m", "svckit.probe", name]
            assert ready["exec"]["command"] == live["exec"]["command"] == probe
            assert container["startupProbe"]["exec"]["command"] == probe
            assert (settings.grpc_port, settings.metrics_port) == (grpc_port, metrics_port)
            assert annotations["prometheus.io/port"] == str(metrics_port)
            assert (settings.bind_host, settings.metrics_bind_host, settings.reflection) == ("0.0.0.0", "0.0.0.0", False)
        else:
            assert ready["httpGet"] == {"path": "/readyz", "port": "http"}
            assert live["httpGet"] == {"path": "/healthz", "port": "http"}
            assert (settings.port, settings.metrics_host, settings.metrics_port) == (
                GATEWAY_PORT, "0.0.0.0", GATEWAY_METRICS_PORT)
            assert annotations["prometheus.io/port"] == env["GATEWAY_METRICS_PORT"] == str(GATEWAY_METRICS_PORT)
            assert {"name": "metrics", "containerPort": GATEWAY_METRICS_PORT} in container["ports"]
            addresses = (settings.identity_addr, settings.organisation_addr, settings.consent_addr,
                         settings.reporting_addr)
            assert tuple(map(_address, addresses)) == tuple(f"{s}:{port}" for s, (port, _) in GRPC_SERVICES.items())


def _assert_certificate_mounted(pod: dict, container: dict, settings, name: str) -> None:
    """The process's TLS settings name files of its own Secret pe-insight-tls-<name>, mounted read-only."""
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert settings.tls is not None and settings.tls.process == name
    for path, key in ((settings.tls.ca_file, "ca.crt"), (settings.tls.cert_file, "tls.crt"),
                      (settings.tls.key_file, "tls.key")):
        folder, _, file_name = path.rpartition("/")
        assert file_name == key and folder in mounts, f"{name}: {path} is not in a mounted volume"
        assert mounts[folder].get("readOnly") is True
        assert volumes[mounts[folder]["name"]]["secret"]["secretName"] == f"pe-insight-tls-{name}"


def test_every_container_runs_restricted(deployments):
    for name, deployment in deployments.items():
        spec = deployment["spec"]["template"]["spec"]
        pod_context = spec["securityContext"]
        assert pod_context["runAsNonRoot"] is True and pod_context["runAsUser"] != 0
        assert spec["automountServiceAccountToken"] is False, f"{name}: no process calls the Kubernetes API"
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
        for container in _containers(deployment):
            context = container["securityContext"]
            where = f"{name}/{container['name']}"
            seccomp = context.get("seccompProfile", pod_context.get("seccompProfile"))
            assert seccomp == {"type": "RuntimeDefault"}, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert not context.get("privileged"), where
            assert context.get("runAsNonRoot", True) is True and context.get("runAsUser", 1) != 0, where


def _writable_folders(deployment: dict, container: dict) -> set[str]:
    empty_dirs = {v["name"] for v in deployment["spec"]["template"]["spec"]["volumes"] if "emptyDir" in v}
    return {m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in empty_dirs}


def test_what_the_processes_write_is_on_writable_volumes(deployments, config_map):
    """The root filesystem is read-only: /tmp (tempfile, gunicorn's heartbeats, the PDF workers'
    forkserver) and the gateway's Prometheus files are emptyDir volumes."""
    for name, deployment in deployments.items():
        for container in _containers(deployment):
            assert "/tmp" in _writable_folders(deployment, container), f"{name}/{container['name']}: /tmp"
            assert "TMPDIR" not in _values(container)
    gateway = deployments["gateway"]
    metrics_dir = _settings("gateway", gateway, config_map).metrics_dir
    assert any(metrics_dir.startswith(folder + "/") for folder in _writable_folders(gateway, _main(gateway))), metrics_dir
    cache = _values(_main(deployments["reporting"]))["XDG_CACHE_HOME"]
    assert cache.startswith("/tmp/")


def test_every_container_has_requests_and_limits_and_sizes_its_concurrency_to_them(deployments, config_map):
    for name, deployment in deployments.items():
        for container in _containers(deployment):
            resources, where = container["resources"], f"{name}/{container['name']}"
            for resource in ("cpu", "memory"):
                request, limit = resources["requests"][resource], resources["limits"][resource]
                assert 0 < quantity(request) <= quantity(limit), f"{where}: {resource} {request} > {limit}"
            assert quantity(resources["limits"]["memory"]) >= 128 * 2**20, where
    # Work that takes a core each is sized to the CPU limit, not to the cores the node has.
    cores = {name: quantity(_main(d)["resources"]["limits"]["cpu"]) for name, d in deployments.items()}
    assert _settings("identity", deployments["identity"], config_map).argon2_max_concurrent == cores["identity"]
    assert _settings("reporting", deployments["reporting"], config_map).pdf_workers == cores["reporting"]
    assert _settings("gateway", deployments["gateway"], config_map).workers == cores["gateway"]


# --- migrations --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(GRPC_SERVICES))
def test_each_service_migrates_its_database_in_an_init_container_first(deployments, name):
    deployment = deployments[name]
    (migrate,) = deployment["spec"]["template"]["spec"]["initContainers"]
    main = _main(deployment)
    assert migrate["command"] == ["python", "-m", name, "migrate"]
    assert migrate["image"] == main["image"]
    assert migrate["envFrom"] == main["envFrom"]
    # The same database as the service, and no other credential: it needs none.
    assert _secret_refs(migrate) == {"DATABASE_URL": _secret_refs(main)["DATABASE_URL"]}
    assert _secret_refs(main)["DATABASE_URL"] == ("pe-insight-secrets", f"{name}-database-url")
    assert _values(main)["MIGRATE_ON_START"] == "0", f"{name} must not migrate again at start"
    assert all(m["name"] != "tls" for m in migrate.get("volumeMounts", []))


def test_the_gateway_has_no_database_to_migrate(deployments):
    assert "initContainers" not in deployments["gateway"]["spec"]["template"]["spec"]


# --- Secrets -------------------------------------------------------------------------------------------

def test_secrets_are_referenced_and_never_inlined(rendered, deployments, config_map):
    assert not _of_kind(rendered, "Secret"), "Secrets are made apart from the base"
    assert not SECRET_SETTINGS & set(config_map)
    for name, deployment in deployments.items():
        for container in _containers(deployment):
            values = _values(container)
            assert not SECRET_SETTINGS & set(values), f"{name}: {SECRET_SETTINGS & set(values)} inline"
            assert not any(CREDENTIAL_IN_URL.search(v) for v in [*values.values(), *config_map.values()])
            for setting, (secret, _key) in _secret_refs(container).items():
                assert secret == "pe-insight-secrets", f"{name}: {setting} from {secret}"
        volumes = deployment["spec"]["template"]["spec"]["volumes"]
        certificates = [] if name == "web" else [f"pe-insight-tls-{name}"]
        assert [v["secret"]["secretName"] for v in volumes if "secret" in v] == certificates
    wanted = {"identity": {"DATABASE_URL", "AMQP_URL", "SIGNING_KEY_ENCRYPTION_KEY"},
              "organisation": {"DATABASE_URL", "AMQP_URL"}, "consent": {"DATABASE_URL", "AMQP_URL"},
              "reporting": {"DATABASE_URL", "AMQP_URL"}, "gateway": {"RATE_LIMIT_STORAGE_URL"},
              "web": {"WEB_SESSION_STORE_URL", "WEB_SECRET_KEY"}}
    assert {name: set(_secret_refs(_main(d))) for name, d in deployments.items()} == wanted


# --- NetworkPolicies ------------------------------------------------------------------------------------

def test_everything_in_the_namespace_is_denied_unless_allowed(rendered):
    policies = _of_kind(rendered, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_the_services_are_reached_exactly_by_the_callers_their_peers_allow(network, deployments, config_map):
    """Between the base's pods, the only connections are the web's HTTP calls to the gateway and gRPC
    calls, from exactly the processes each service's peers.py lets call it: a new caller must be in both."""
    allowed = network.internal()
    expected = {(caller, service, GRPC_SERVICES[service][0]) for service in GRPC_SERVICES for caller in _callers(service)}
    assert expected, "the peers.py allow-lists name no caller"
    assert allowed == expected | {("web", "gateway", GATEWAY_PORT)}
    allowed -= {("web", "gateway", GATEWAY_PORT)}
    # And each process has the address of exactly the services it may call.
    for name, deployment in deployments.items():
        settings = _settings(name, deployment, config_map)
        addresses = {service for service in GRPC_SERVICES if hasattr(settings, f"{service}_addr")}
        assert addresses == {callee for caller, callee, _ in allowed if caller == name}, name


def test_from_outside_only_the_ingress_controller_and_prometheus_get_in(network):
    assert network.from_outside("web") == {(INGRESS_CONTROLLER, ("TCP", WEB_PORT))}
    for name in [*GRPC_SERVICES, "gateway"]:
        metrics_port = GATEWAY_METRICS_PORT if name == "gateway" else GRPC_SERVICES[name][1]
        expected = {(PROMETHEUS, ("TCP", metrics_port))}
        if name == "gateway":
            expected.add((INGRESS_CONTROLLER, ("TCP", GATEWAY_PORT)))
        assert network.from_outside(name) == expected, name


def test_each_process_reaches_dns_and_the_infrastructure_its_settings_use(network, deployments, config_map):
    for name, deployment in deployments.items():
        settings = _settings(name, deployment, config_map)
        uses = {"postgres": hasattr(settings, "database_url"), "rabbitmq": hasattr(settings, "amqp_url"),
                "smtp": hasattr(settings, "smtp_host"),
                "redis": hasattr(settings, "rate_limit_storage_url") or hasattr(settings, "session_store_url")}
        expected = {(DNS, ("UDP", 53)), (DNS, ("TCP", 53))}
        for kind, used in uses.items():
            if used:
                peer = Outside(frozenset({(INFRASTRUCTURE_LABEL, "true")}), frozenset({(INFRASTRUCTURE_LABEL, kind)}))
                expected |= {(peer, ("TCP", port)) for port in INFRASTRUCTURE_PORTS[kind]}
        outside = network.to_outside(name)
        assert not {peer for peer, _ in outside} & {EVERYONE} and not {port for _, port in outside} & {EVERY_PORT}
        assert outside == expected, name
        if hasattr(settings, "smtp_port"):
            assert settings.smtp_port in INFRASTRUCTURE_PORTS["smtp"]


def test_the_network_check_sees_a_connection_the_policies_do_not_allow(rendered):
    """The judge of the policies above can fail: with consent let in from organisation too, the
    connection organisation -> consent appears, and a caller that peers.py does not name."""
    changed = copy.deepcopy(rendered)
    consent = next(d for d in changed if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "consent")
    organisation = next(d for d in changed if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "organisation")
    consent["spec"]["ingress"][0]["from"].append(
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "organisation"}}})
    assert ("organisation", "consent", 50053) not in Network(changed).internal()   # organisation may not send
    organisation["spec"]["egress"].append(
        {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "consent"}}}], "ports": [{"port": 50053}]})
    assert ("organisation", "consent", 50053) in Network(changed).internal()
    assert "organisation" not in _callers("consent")


# --- the README ------------------------------------------------------------------------------------------

def _readme_section() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("\n## Kubernetes\n"):]
    end = section.find("\n## ", 1)
    return section if end < 0 else section[:end]


def test_the_readme_overlay_changes_namespace_image_and_host_and_stays_valid(tmp_path):
    """The overlay the README shows, rendered on the base: the new host is the Ingress's and
    PUBLIC_URL's alike, and Kubernetes still accepts every object."""
    (block,) = re.findall(r"```yaml\n(# kustomization.yaml of an overlay\n.*?)```", _readme_section(), re.S)
    overlay = yaml.safe_load(block)
    overlay["resources"] = [os.path.relpath(K8S_DIR, tmp_path / "overlay")]
    (tmp_path / "overlay").mkdir()
    (tmp_path / "overlay" / "kustomization.yaml").write_text(yaml.safe_dump(overlay))
    documents = render(tmp_path / "overlay")
    assert {d["metadata"].get("namespace") for d in documents} == {overlay["namespace"]}
    (ingress,) = [d for d in documents if d["kind"] == "Ingress"]
    (config,) = [d for d in documents if d["kind"] == "ConfigMap"]
    host = ingress["spec"]["rules"][0]["host"]
    assert host != "pe-insight.example" and ingress["spec"]["tls"][0]["hosts"] == [host]
    assert urlsplit(config["data"]["PUBLIC_URL"]).hostname == host
    image = overlay["images"][0]
    for deployment in (d for d in documents if d["kind"] == "Deployment"):
        assert {c["image"] for c in _containers(deployment)} == {f"{image['newName']}:{image['newTag']}"}
    result = validate(documents, KUBERNETES_VERSION, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_readme_names_what_the_base_expects():
    section = _readme_section()
    for expected in ("pe-insight-secrets", "pe-insight-tls-<process>", "pe-insight-ingress-tls",
                     f"{INFRASTRUCTURE_LABEL}=true", *(f"{INFRASTRUCTURE_LABEL}={kind}" for kind in INFRASTRUCTURE_PORTS),
                     "ingress-nginx", "monitoring", "app.kubernetes.io/name=prometheus", "nginx",
                     "python -m <service> migrate", "kube-dns"):
        assert expected in section, f"the README's Kubernetes section does not mention {expected}"
