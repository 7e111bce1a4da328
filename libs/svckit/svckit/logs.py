"""Structured JSON logs, one event a line, with the service and request id on each."""
from __future__ import annotations

import logging
import sys
import uuid
from contextvars import ContextVar

import structlog

# The request id of the call being handled: None outside any call, "" inside a call whose
# caller sent none (one is made on first use). A plain ContextVar rather than structlog's
# bound context, because it is set on every RPC, where a few microseconds matter.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    request_id = REQUEST_ID.get()
    if request_id == "":
        request_id = uuid.uuid4().hex
        REQUEST_ID.set(request_id)
    return request_id


def _add_request_id(_logger, _method, event_dict):
    request_id = current_request_id()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict

_SENSITIVE_KEYS = {"password", "token", "access_token", "refresh_token", "link", "body"}


def _drop_secrets(_logger, _method, event_dict):
    for key in _SENSITIVE_KEYS & event_dict.keys():
        event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(service: str, level: str = "INFO", stream=None) -> None:
    """JSON logs for structlog and the standard library alike."""
    stream = stream or sys.stderr
    def add_service(_logger, _method, event_dict):
        # A processor rather than a bound context variable: worker threads log too.
        event_dict.setdefault("service", service)
        return event_dict

    shared = [
        add_service,
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info,
                    structlog.processors.EventRenamer("message"),
                    structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(stream),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # Not cached: a process that configures logging again (tests do) must reach every logger.
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.EventRenamer("message"),
                    structlog.processors.JSONRenderer()],
        foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # pika logs each failed connection attempt with a traceback; every such failure also
    # reaches our code as an exception, which reports it in one line.
    logging.getLogger("pika").setLevel(logging.CRITICAL)


def mask_email(address: str) -> str:
    """j***@example.org: enough to tell mails apart in logs, not to read the address."""
    local, sep, domain = address.partition("@")
    if not sep:
        return "***"
    return f"{local[:1]}***@{domain}"


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
