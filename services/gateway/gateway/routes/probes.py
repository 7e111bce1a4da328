"""Probes for operations: /healthz, /readyz (not part of the API; /metrics has a port of its own)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from gateway.problems import problem

blueprint = Blueprint("probes", __name__)


@blueprint.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    """Ready when all four services answer SERVING to the standard gRPC health check."""
    services = current_app.extensions["pe.backends"].health()
    if all(status == "SERVING" for status in services.values()):
        return jsonify(status="ready", services=services)
    waiting = ", ".join(name for name, status in services.items() if status != "SERVING")
    return problem(503, f"not ready: waiting for {waiting}", slug="not-ready", services=services,
                   headers={"Retry-After": "2"})

