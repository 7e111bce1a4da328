"""python -m gateway: the Flask app served by gunicorn, one app (and gRPC channels) per worker.

/metrics is not on the API's port: the gunicorn master serves it on GATEWAY_METRICS_PORT, summing
the workers' figures from PROMETHEUS_MULTIPROC_DIR.
"""
from __future__ import annotations

import os
import shutil

from gunicorn.app.base import BaseApplication

from gateway import config
from svckit import tls
from svckit.logs import configure_logging, get_logger
from svckit.startup import DependencyError, run_main

log = get_logger(__name__)


def _prepare_metrics_dir(path: str) -> None:
    # Must happen before prometheus_client is imported: it picks its storage at import.
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def _start_metrics_server(settings: config.Settings):
    """/metrics of every worker together, served by this (the master) process."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    try:
        server, _thread = start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
    except OSError as error:
        raise DependencyError(f"GATEWAY_METRICS_PORT {settings.metrics_port} on {settings.metrics_host} "
                              f"cannot be served: {error.strerror or error}") from None
    return server


def _child_exit(_server, worker) -> None:
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


class GatewayServer(BaseApplication):
    def __init__(self, settings: config.Settings, metrics_server=None):
        self.settings = settings
        self.metrics_server = metrics_server
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        self.cfg.set("bind", f"0.0.0.0:{s.port}")
        self.cfg.set("workers", s.workers)
        self.cfg.set("threads", s.threads)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("graceful_timeout", 10)
        self.cfg.set("post_fork", self._post_fork)
        self.cfg.set("child_exit", _child_exit)
        self.cfg.set("proc_name", "pe-gateway")
        # No gunicornc control socket: it would go to $HOME/.gunicorn, read-only in a container and
        # one path for every gateway on a developer's machine, each taking it from the last.
        self.cfg.set("control_socket_disable", True)

    def _post_fork(self, _server, _worker) -> None:
        # A worker inherits the master's metrics socket; only the master serves it.
        if self.metrics_server is not None:
            self.metrics_server.socket.close()

    def load(self):
        # Runs in each worker after the fork, so channels are never shared across processes.
        from gateway.app import create_app
        return create_app(self.settings)


def main() -> None:
    settings = config.load()
    tls.load(settings.tls)  # each worker loads it again for its channels; a bad file stops the start here
    _prepare_metrics_dir(settings.metrics_dir)
    configure_logging("gateway", settings.log_level)
    if settings.tls is None:
        log.warning("calling the services without TLS (GRPC_TLS=off)")
    metrics_server = _start_metrics_server(settings)
    log.info("starting", port=settings.port, workers=settings.workers,
             metrics=f"http://{settings.metrics_host}:{settings.metrics_port}/metrics",
             rate_limit_storage=settings.rate_limit_storage_url.split("://")[0],
             trusted_proxy_hops=settings.trusted_proxy_hops, docs=f"{settings.public_url}/api/docs")
    GatewayServer(settings, metrics_server).run()


if __name__ == "__main__":
    run_main("gateway", main)
