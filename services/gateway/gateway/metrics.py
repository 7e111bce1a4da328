"""HTTP RED metrics of the gateway, per route template (never a raw path with ids in it).

Under gunicorn each worker is its own process: with PROMETHEUS_MULTIPROC_DIR set before
prometheus_client is imported, each worker writes its figures there, and the master's /metrics
(on its own port, see __main__) sums them.
"""
from __future__ import annotations

import time

from flask import Flask, g, request
from prometheus_client import Counter, Histogram

REQUESTS = Counter("pe_gateway_http_requests_total", "HTTP requests handled, by route and status.",
                   ("method", "route", "status"))
DURATION = Histogram("pe_gateway_http_request_duration_seconds", "Time to answer an HTTP request.",
                     ("method", "route"),
                     buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def instrument(app: Flask) -> None:
    @app.before_request
    def _start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response):
        route = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        if "started" in g:
            DURATION.labels(request.method, route).observe(time.perf_counter() - g.started)
        return response

