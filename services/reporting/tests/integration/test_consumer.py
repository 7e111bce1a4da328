"""The consumers against a real RabbitMQ and database: duplicated, reordered and poisoned consent
events; a consumer killed mid-batch and restarted; PE registry events."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import namedtuple
from datetime import date, datetime, timezone

import pika
import pytest
from prometheus_client import CollectorRegistry

from reporting import handlers
from reporting.consumer import EventHandlers, ReportingMetrics, consent_queue, registry_queue
from svckit.amqp import ConfirmingPublisher, Consumer, Message, connect, declare_queue, unrouted_queue
from svckit.event_outbox import to_message

pytestmark = pytest.mark.integration

Row = namedtuple("Row", "event_id source type subject routing_key data occurred_at")
SENT_AT = datetime(2026, 11, 28, 10, tzinfo=timezone.utc)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


@pytest.fixture
def names(amqp_url):
    suffix = uuid.uuid4().hex[:8]
    names = {"consent_exchange": f"test.pe.consent.{suffix}", "consent_queue": f"test.reporting.consent-events.{suffix}",
             "registry_exchange": f"test.pe.registry.{suffix}",
             "registry_queue": f"test.reporting.registry-events.{suffix}"}
    yield names
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    for spec in (consent_queue(names["consent_queue"], names["consent_exchange"]),
                 registry_queue(names["registry_queue"], names["registry_exchange"])):
        for name in (spec.name, spec.dead_letter_queue):
            channel.queue_delete(name)
        channel.exchange_delete(spec.dead_letter_exchange)
    for exchange in (names["consent_exchange"], names["registry_exchange"]):
        channel.queue_delete(unrouted_queue(exchange))
        channel.exchange_delete(exchange)
        channel.exchange_delete(f"{exchange}.unrouted")
    connection.close()


def consent_message(world, event) -> Message:
    kind = event.type.split(".")[2]
    return to_message(Row(event.event_id, "/pe-insight/consent", event.type, event.consent.consent_id,
                          f"consent.{kind}", json.dumps(world.cloud_event_data(event)), event.occurred_at))


def depth(amqp_url, queue) -> int:
    connection = connect(amqp_url)
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def wait_until(predicate, seconds=20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def model(deps):
    with deps.store.read() as tx:
        return {c.consent_id: c for c in tx.all_consents()}


class Running:
    def __init__(self, consumer: Consumer):
        self.consumer = consumer
        self.thread = threading.Thread(target=consumer.run, kwargs={"poll_seconds": 0.1}, daemon=True)
        self.thread.start()

    def stop(self):
        self.consumer.stop()
        self.thread.join(10)


def pid(n):
    return f"aaaaaaaa-0000-4000-8000-{n:012d}"


def test_duplicated_reordered_and_poisoned_events(amqp_url, names, deps, consent_world, organisations):
    organisation = organisations.add("Noord")
    world = consent_world
    events = [world.grant(pid(n), organisation, pid(100 + n % 3), end_date=date(2027, 1, 1) if n % 2 else None)
              for n in range(12)]
    ids = list(world.consents)
    events += [world.revoke(ids[0]), world.change(ids[1], None), world.expire(ids[2]), world.change(ids[1], date(2030, 1, 1))]
    spec = consent_queue(names["consent_queue"], names["consent_exchange"])
    connection = connect(amqp_url)
    declare_queue(connection.channel(), spec)
    connection.close()

    messages = [consent_message(world, e) for e in events]
    messages += random.Random(5).sample(messages, 5)             # duplicates, as a relay re-publishes
    random.Random(9).shuffle(messages)                          # and out of order
    poison_body = Message("consent.granted", b"{not json", messages[0].headers | {"ce-id": "poison-1"},
                          "application/json", "poison-1")
    poison_data = Message("consent.revoked", b'{"consent_id": "x"}', messages[0].headers | {"ce-id": "poison-2"},
                          "application/json", "poison-2")
    messages[3:3] = [poison_body]
    messages.append(poison_data)
    publisher = ConfirmingPublisher(amqp_url, exchanges=(names["consent_exchange"],))
    for message in messages:
        publisher.publish(names["consent_exchange"], message)
    publisher.close()

    registry = CollectorRegistry()
    deps.metrics = ReportingMetrics(registry)
    events_handlers = EventHandlers(deps, deps.metrics)
    running = Running(Consumer(amqp_url, spec, events_handlers.on_consent_message,
                               events_handlers.dead_lettered(spec.name)))
    try:
        assert wait_until(lambda: depth(amqp_url, spec.dead_letter_queue) == 2 and model(deps) == world.consents)
    finally:
        running.stop()
    assert handlers.log_gap(deps) == (len(events), [])
    assert depth(amqp_url, spec.name) == 0
    assert registry.get_sample_value("pe_reporting_events_dead_lettered_total", {"queue": spec.name}) == 2
    assert registry.get_sample_value("pe_reporting_events_applied_total",
                                     {"stream": "consent", "outcome": "duplicate"}) == 5


CONSUMER_PROCESS = """
from reporting import config
from reporting.__main__ import MIGRATIONS, make_deps
from reporting.consumer import EventHandlers, consent_queue
from svckit.amqp import Consumer
from svckit.process import open_database
settings = config.load()
deps = make_deps(settings, open_database(settings.database_url, MIGRATIONS), tls=None)
events = EventHandlers(deps)
Consumer(settings.amqp_url, consent_queue(settings.consent_queue, settings.consent_exchange),
         events.on_consent_message).run(poll_seconds=0.1)
"""


def test_a_consumer_killed_mid_batch_and_restarted_ends_with_the_same_read_model(amqp_url, names, deps, engine,
                                                                                 consent_world, organisations):
    organisation = organisations.add("Noord")
    world = consent_world
    for n in range(400):
        world.grant(pid(n), organisation, pid(1000 + n % 7))
    for consent_id in list(world.consents)[:100]:
        world.revoke(consent_id)
    spec = consent_queue(names["consent_queue"], names["consent_exchange"])
    connection = connect(amqp_url)
    declare_queue(connection.channel(), spec)
    connection.close()
    publisher = ConfirmingPublisher(amqp_url, exchanges=(names["consent_exchange"],))
    for event in world.log:
        publisher.publish(names["consent_exchange"], consent_message(world, event))
    publisher.close()

    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False), "AMQP_URL": amqp_url,
           "CONSENT_EXCHANGE": names["consent_exchange"], "CONSENT_EVENTS_QUEUE": names["consent_queue"],
           "LOG_LEVEL": "WARNING"}

    def applied() -> int:
        with deps.store.read() as tx:
            return tx.applied_through() + len(tx.pending_positions())

    process = subprocess.Popen([sys.executable, "-c", CONSUMER_PROCESS], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: applied() >= 60, 60), process.stderr.read1().decode() if process.poll() else ""
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    at_kill = applied()
    assert 0 < at_kill < len(world.log), "the kill was meant to land mid-way"

    process = subprocess.Popen([sys.executable, "-c", CONSUMER_PROCESS], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: handlers.log_gap(deps) == (len(world.log), []), 120)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    assert model(deps) == world.consents
    assert depth(amqp_url, spec.dead_letter_queue) == 0


def test_registry_events_store_progress_and_poison_is_dead_lettered(amqp_url, names, deps):
    spec = registry_queue(names["registry_queue"], names["registry_exchange"])
    record = {"pe_registration_number": "PE-42", "period_start": "2025-01-01", "period_end": "2027-12-31",
              "points_required": 60, "points_earned": 21, "renewal_submitted_date": None,
              "activities": [{"title": "Ethiek", "provider": "SEU", "completion_date": "2025-05-01", "points": 21,
                              "category": "Integriteit"}]}
    good = to_message(Row("r-1", "/pe-registry", "pe.registry.progress_updated.v1", "PE-42",
                          "registry.progress_updated", json.dumps(record), SENT_AT))
    bad = to_message(Row("r-2", "/pe-registry", "pe.registry.progress_updated.v1", "PE-43",
                         "registry.progress_updated", json.dumps({**record, "period_end": "soon"}),
                         SENT_AT))
    connection = connect(amqp_url)
    declare_queue(connection.channel(), spec)
    connection.close()
    publisher = ConfirmingPublisher(amqp_url, exchanges=(names["registry_exchange"],))
    for message in (good, bad, good):
        publisher.publish(names["registry_exchange"], message)
    publisher.close()

    events_handlers = EventHandlers(deps)
    running = Running(Consumer(amqp_url, spec, events_handlers.on_registry_message,
                               events_handlers.dead_lettered(spec.name)))
    try:
        assert wait_until(lambda: depth(amqp_url, spec.dead_letter_queue) == 1 and depth(amqp_url, spec.name) == 0)
    finally:
        running.stop()
    with deps.store.read() as tx:
        stored = tx.stored_progress("PE-42")
        assert stored.progress.points_earned == 21 and stored.progress.activities[0].title == "Ethiek"
        assert tx.stored_progress("PE-43") is None

