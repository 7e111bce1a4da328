"""The kustomize base as Kubernetes would get it, and what its NetworkPolicies let through.

`render` runs `kubectl kustomize` (the kubectl `make venv` puts beside the tests' Python), `validate`
runs kubernetes-validate in strict mode on objects, and `Network` reads the rendered NetworkPolicies the
way the API defines them: a connection between two pods needs an egress rule of a policy selecting the
sender and an ingress rule of a policy selecting the receiver (once any policy selects a pod for that
direction). It knows the selectors the base uses (matchLabels) and refuses anything else, so that a
construct it cannot judge fails the tests instead of passing them.
"""
from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent
KUBECTL = BIN / "kubectl"
KUBERNETES_VALIDATE = BIN / "kubernetes-validate"


def render(folder: Path) -> list[dict]:
    assert KUBECTL.exists(), f"{KUBECTL} is missing: run `make venv` (deploy/local/kubectl.py puts it there)"
    result = subprocess.run([str(KUBECTL), "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def validate(documents: list[dict], kubernetes_version: str, folder: Path) -> subprocess.CompletedProcess:
    """kubernetes-validate --strict on the documents, written to one file in `folder`."""
    path = folder / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return subprocess.run([str(KUBERNETES_VALIDATE), "--strict", "--kubernetes-version", kubernetes_version, str(path)],
                          capture_output=True, text=True, timeout=300)


_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity(value: str | int | float) -> float:
    """A Kubernetes quantity ("250m", "2", "512Mi") as a number (cores, bytes)."""
    found = re.fullmatch(r"([0-9.]+)(m|k|M|G|Ki|Mi|Gi)?", str(value))
    assert found, f"not a quantity this test reads: {value!r}"
    return float(found.group(1)) * _UNITS[found.group(2) or ""]


# --- NetworkPolicies -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outside:
    """Pods of other namespaces, as a policy names them: namespace labels and pod labels."""
    namespace: frozenset
    pods: frozenset


EVERYONE = "(everyone)"   # a rule without from/to; never a Deployment's name
EVERY_PORT = "(every port)"


def _labels(selector: dict | None) -> frozenset:
    selector = selector or {}
    assert set(selector) <= {"matchLabels"}, f"only matchLabels selectors are judged here: {selector}"
    return frozenset((selector.get("matchLabels") or {}).items())


def _matches(selector: frozenset, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector)


class Network:
    """Which pods of the base (by Deployment name) may talk to which, and to what outside."""

    def __init__(self, documents: list[dict]):
        self.pods = {d["metadata"]["name"]: d["spec"]["template"] for d in documents if d["kind"] == "Deployment"}
        self.policies = [d for d in documents if d["kind"] == "NetworkPolicy"]

    def selected(self, policy: dict) -> set[str]:
        selector = _labels(policy["spec"]["podSelector"])
        return {name for name, pod in self.pods.items() if _matches(selector, pod["metadata"]["labels"])}

    def _peers(self, peers: list[dict] | None) -> set:
        if not peers:
            return {EVERYONE}
        found = set()
        for peer in peers:
            assert set(peer) <= {"podSelector", "namespaceSelector"}, f"peer not judged here: {peer}"
            pods = _labels(peer.get("podSelector"))
            if "namespaceSelector" in peer:
                found.add(Outside(_labels(peer["namespaceSelector"]), pods))
            else:
                found |= {name for name, pod in self.pods.items() if _matches(pods, pod["metadata"]["labels"])}
        return found

    def _ports(self, ports: list[dict] | None, receivers: set) -> set:
        """(protocol, port) pairs; a named port as the number each receiving pod of the base gives it."""
        if not ports:
            return {EVERY_PORT}
        found = set()
        for port in ports:
            assert "endPort" not in port, f"port ranges are not judged here: {port}"
            protocol, number = port.get("protocol", "TCP"), port["port"]
            if isinstance(number, int):
                found.add((protocol, number))
                continue
            for receiver in (self.pods if EVERYONE in receivers else receivers):
                if isinstance(receiver, str):
                    found |= {(protocol, p["containerPort"]) for c in self.pods[receiver]["spec"]["containers"]
                              for p in c.get("ports", []) if p.get("name") == number}
        return found

    def rules(self, pod: str, direction: str) -> set[tuple]:
        """(peer, (protocol, port)) this pod may receive from (Ingress) or send to (Egress); None
        when no policy selects it for that direction (then everything is allowed)."""
        key = {"Ingress": "from", "Egress": "to"}[direction]
        allowed, isolated = set(), False
        for policy in self.policies:
            spec = policy["spec"]
            if pod not in self.selected(policy) or direction not in spec.get("policyTypes", ["Ingress"]):
                continue
            isolated = True
            for rule in spec.get(direction.lower(), []) or []:
                peers = self._peers(rule.get(key))
                receivers = {pod} if direction == "Ingress" else peers
                allowed |= {(peer, port) for peer in peers for port in self._ports(rule.get("ports"), receivers)}
        return allowed if isolated else None

    def internal(self) -> set[tuple[str, str, int]]:
        """(sender, receiver, port) between pods of the base, on the ports the receiver listens on:
        allowed out by the sender's policies and in by the receiver's."""
        edges = set()
        for sender in self.pods:
            egress = self.rules(sender, "Egress")
            for receiver, pod in self.pods.items():
                ingress = self.rules(receiver, "Ingress")
                for port in {(p.get("protocol", "TCP"), p["containerPort"])
                             for c in pod["spec"]["containers"] for p in c.get("ports", [])}:
                    if _allows(egress, receiver, port) and _allows(ingress, sender, port):
                        edges.add((sender, receiver, port[1]))
        return edges

    def from_outside(self, pod: str) -> set[tuple]:
        """What may reach this pod other than the base's pods (EVERYONE included)."""
        return {(peer, port) for peer, port in self.rules(pod, "Ingress") or {(EVERYONE, EVERY_PORT)}
                if peer not in self.pods}

    def to_outside(self, pod: str) -> set[tuple]:
        """What this pod may reach other than the base's pods (EVERYONE included)."""
        return {(peer, port) for peer, port in self.rules(pod, "Egress") or {(EVERYONE, EVERY_PORT)}
                if peer not in self.pods}


def _allows(rules: set | None, peer: str, port: tuple) -> bool:
    if rules is None:   # no policy selects the pod for this direction
        return True
    return any((who, what) in rules for who in (peer, EVERYONE) for what in (port, EVERY_PORT))
