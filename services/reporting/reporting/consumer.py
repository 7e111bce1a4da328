"""The broker side of the read model: consent events and PE registry events, as CloudEvents.

Each queue is consumed by svckit's Consumer with manual acks: a message is acknowledged only after
its transaction committed. A message that cannot be read or applied is retried a few times and
then moved to the queue's dead-letter queue (counted in pe_reporting_events_dead_lettered_total and
logged), so it never holds up the messages behind it. A dead-lettered consent event leaves a hole
in the applied log, which the gap filler and report requests close from consent's own log.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date, datetime, timezone

from cloudevents.core.bindings import rabbitmq as ce_rabbitmq
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy.exc import OperationalError

from reporting import handlers
from reporting.domain import Consent, ConsentEvent, ConsentState, event_problem, parse_date
from svckit.amqp import Message, QueueSpec
from svckit.logs import get_logger

log = get_logger(__name__)

CONSENT_ROUTING = "consent.#"
REGISTRY_ROUTING = "registry.progress_updated"
CONSENT_TYPE_PREFIX = "pe.consent."
REGISTRY_TYPE = "pe.registry.progress_updated.v1"


class UnusableEvent(ValueError):
    """A message that is not an event this service can apply; retrying will not help."""


def consent_queue(queue: str = "reporting.consent-events", exchange: str = "pe.consent") -> QueueSpec:
    """The quorum queue `<queue>.v2`, taking over from the classic queue `<queue>` of earlier releases."""
    return QueueSpec(f"{queue}.v2", ((exchange, CONSENT_ROUTING),), max_attempts=5, replaces=queue)


def registry_queue(queue: str = "reporting.registry-events", exchange: str = "pe.registry") -> QueueSpec:
    """The quorum queue `<queue>.v2`, taking over from the classic queue `<queue>` of earlier releases."""
    return QueueSpec(f"{queue}.v2", ((exchange, REGISTRY_ROUTING),), max_attempts=5, replaces=queue)


def _cloud_event(message: Message):
    headers = {key: (value.decode() if isinstance(value, bytes) else value)
               for key, value in message.headers.items() if isinstance(key, str) and key.startswith("ce-")}
    if not headers.get("ce-id") or not headers.get("ce-type"):
        raise UnusableEvent("not a CloudEvent in binary mode (no ce-id or ce-type header)")
    try:
        return ce_rabbitmq.from_binary_event(ce_rabbitmq.RabbitMQMessage(
            headers=headers, content_type=message.content_type or "application/json", body=message.body))
    except Exception as error:  # the binding raises several kinds for bad input
        raise UnusableEvent(f"unreadable CloudEvent: {error}") from None


def _required(data: Mapping, name: str, kind=str):
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) or value == "":
        raise UnusableEvent(f"event data field {name} is missing or not a {kind.__name__}")
    return value


def _instant(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UnusableEvent(f"event data field {name} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise UnusableEvent(f"event data field {name} has no offset")
    return moment.astimezone(timezone.utc)


def consent_event_from_message(message: Message) -> ConsentEvent:
    event = _cloud_event(message)
    attributes = event.get_attributes()
    event_type = str(attributes.get("type"))
    if not event_type.startswith(CONSENT_TYPE_PREFIX):
        raise UnusableEvent(f"unexpected event type {event_type}")
    data = event.get_data()
    if not isinstance(data, Mapping):
        raise UnusableEvent("event data is not a JSON object")
    valid_until = data.get("valid_until")
    end_date: date | None = None
    if valid_until is not None:
        end_date = parse_date(valid_until) if isinstance(valid_until, str) else None
        if end_date is None:
            raise UnusableEvent("event data field valid_until is not a date")
    try:
        state = ConsentState(_required(data, "state"))
    except ValueError:
        raise UnusableEvent(f"event data field state is not one of {[s.value for s in ConsentState]}") from None
    sequence = _required(data, "sequence", int)
    position = data.get("position")
    if sequence < 1 or (position is not None and (not isinstance(position, int) or position < 1)):
        raise UnusableEvent("event data fields sequence and position count from 1")
    occurred = attributes.get("time")
    consent = Consent(
        consent_id=_required(data, "consent_id"), professional_id=_required(data, "professional_id"),
        pe_registration_number=_required(data, "pe_registration_number"),
        organisation_id=_required(data, "organisation_id"), contact_id=_required(data, "contact_id"),
        valid_from=_instant(_required(data, "valid_from"), "valid_from"), end_date=end_date, state=state,
        reason=data.get("reason") or None, sequence=sequence)
    event = ConsentEvent(event_id=str(attributes["id"]), type=event_type, consent=consent, position=position,
                         occurred_at=occurred if isinstance(occurred, datetime) else None)
    problem = event_problem(event)
    if problem:
        raise UnusableEvent(problem)
    return event


def registry_event_from_message(message: Message) -> tuple[str, Mapping, datetime | None]:
    event = _cloud_event(message)
    attributes = event.get_attributes()
    if attributes.get("type") != REGISTRY_TYPE:
        raise UnusableEvent(f"unexpected event type {attributes.get('type')}")
    data = event.get_data()
    if not isinstance(data, Mapping):
        raise UnusableEvent("event data is not a JSON object")
    occurred = attributes.get("time")
    return str(attributes["id"]), data, occurred if isinstance(occurred, datetime) else None


class ReportingMetrics:
    """pe_reporting_* metrics; queue names and outcomes only as labels, never ids."""

    def __init__(self, registry: CollectorRegistry):
        self.dead_lettered = Counter("pe_reporting_events_dead_lettered_total",
                                     "Events moved to a dead-letter queue after their last attempt.",
                                     ("queue",), registry=registry)
        self.applied = Counter("pe_reporting_events_applied_total",
                               "Events handled, by stream and outcome (applied, duplicate, stale).",
                               ("stream", "outcome"), registry=registry)
        self.position = Gauge("pe_reporting_consent_log_applied_position",
                              "The consent log position the read model has applied without gaps.",
                              registry=registry)
        self.reports = Histogram("pe_reporting_report_generation_seconds",
                                 "Time to build and send an overview report, by format.", ("format",),
                                 buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80), registry=registry)

    def event_applied(self, stream: str, outcome: str) -> None:
        self.applied.labels(stream, outcome).inc()

    def applied_through(self, position: int) -> None:
        self.position.set(position)

    def report_generated(self, report_format: str, seconds: float) -> None:
        self.reports.labels(report_format).observe(seconds)


class EventHandlers:
    """Message handlers for the two consumers; a lost database is waited for, not dead-lettered."""

    def __init__(self, deps: handlers.Deps, metrics: ReportingMetrics | None = None,
                 database_retries: tuple[float, ...] = (0.5, 1, 2, 4, 8)):
        self._deps, self._metrics = deps, metrics
        self._retries = database_retries
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def _with_database(self, action):
        for pause in (*self._retries, None):
            try:
                return action()
            except OperationalError as error:
                if pause is None or self._stopping.is_set():
                    raise
                log.warning("database unavailable while applying an event, will retry", error=str(error).split("\n")[0],
                            retry_in_seconds=pause)
                self._stopping.wait(pause)

    def on_consent_message(self, message: Message) -> None:
        event = consent_event_from_message(message)
        self._with_database(lambda: handlers.apply_consent_event(event, self._deps))

    def on_registry_message(self, message: Message) -> None:
        event_id, data, occurred = registry_event_from_message(message)
        self._with_database(lambda: handlers.apply_registry_event(event_id, data, occurred, self._deps))

    def dead_lettered(self, queue: str):
        def record(message: Message, error: Exception) -> None:
            if self._metrics is not None:
                self._metrics.dead_lettered.labels(queue).inc()
            log.error("event dead-lettered", queue=queue, message_id=message.message_id,
                      routing_key=message.routing_key, error=str(error))
        return record


class GapFiller:
    """Closes holes in the applied consent log from consent's own log.

    A hole (events applied beyond a missing position) that is still there at the next look, a
    check interval later, is filled with ListConsentEvents: the missing event was lost to the
    dead-letter queue or is very late.
    """

    def __init__(self, deps: handlers.Deps, interval_seconds: float = 30.0):
        self._deps, self._interval = deps, interval_seconds
        self._stopping = threading.Event()
        self._seen: int | None = None

    def stop(self) -> None:
        self._stopping.set()

    def check(self) -> None:
        through, pending = handlers.log_gap(self._deps)
        self._deps.metrics.applied_through(through)
        if not pending:
            self._seen = None
            return
        if self._seen != through:
            self._seen = through  # give the broker an interval to deliver it first
            return
        log.warning("filling a gap in the consent log from consent", applied_through=through,
                    next_applied=pending[0])
        handlers.catch_up(self._deps, max(pending))

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.check()
            except handlers.ConsentLogUnavailable as error:
                log.warning("gap filler cannot reach consent", error=str(error))
            except Exception:
                log.exception("gap filler pass failed")
