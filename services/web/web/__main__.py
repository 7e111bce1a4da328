"""python -m web: the pages, served by gunicorn.

One process with threads: with sessions in memory (the default) every request must reach the
process that keeps them. With WEB_SESSION_STORE_URL=redis://... several replicas can share them.
"""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from web import assets, config
from svckit.logs import configure_logging, get_logger
from svckit.startup import DependencyError, run_main

log = get_logger(__name__)


class WebServer(BaseApplication):
    def __init__(self, settings: config.Settings):
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        self.cfg.set("bind", f"{s.bind_host}:{s.port}")
        self.cfg.set("workers", 1)
        self.cfg.set("threads", s.threads)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("graceful_timeout", 10)
        self.cfg.set("proc_name", "pe-web")
        self.cfg.set("control_socket_disable", True)

    def load(self):
        from web.bootstrap import create_app
        return create_app(self.settings)


def main() -> None:
    settings = config.load()
    configure_logging("web", settings.log_level)
    if assets.missing():
        raise DependencyError("the pages' style sheets are missing from services/web/node_modules; run make gen")
    log.info("starting", url=settings.public_url, gateway=settings.gateway_url,
             sessions=settings.session_store_url.split("://")[0])
    WebServer(settings).run()


if __name__ == "__main__":
    run_main("web", main)
