"""Outbox rows become CloudEvents on a real RabbitMQ; a relay dying before marking loses nothing."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from cloudevents.core.bindings import rabbitmq as ce_rabbitmq
from sqlalchemy import MetaData, select

from svckit.amqp import ConfirmingPublisher, connect, unrouted_queue
from svckit.clock import ManualClock
from svckit.db import make_engine
from svckit.event_outbox import EventRelay, OutboundEvent, add_event, event_outbox_table

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(amqp_url):
    exchange, queue = f"test.outbox.{uuid.uuid4().hex[:8]}", f"test.outbox.q.{uuid.uuid4().hex[:8]}"
    connection = connect(amqp_url)
    channel = connection.channel()
    publisher = ConfirmingPublisher(amqp_url, exchanges=(exchange,))
    publisher._ensure_channel()  # declares the exchange
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, exchange, "thing.#")
    yield exchange, queue, channel, publisher
    publisher.close()
    for name in (queue, unrouted_queue(exchange)):
        channel.queue_delete(name)
    for name in (exchange, f"{exchange}.unrouted"):
        channel.exchange_delete(name)
    connection.close()


@pytest.fixture
def outbox(databases):
    metadata = MetaData()
    table = event_outbox_table(metadata)
    engine = make_engine(databases.new("events"))
    metadata.create_all(engine)
    yield engine, table
    engine.dispose()


def _event(n, clock):
    return OutboundEvent(type="pe.test.thing_happened.v1", source="/pe-insight/test", subject=f"thing-{n}",
                         routing_key="thing.happened", data={"n": n}, occurred_at=clock.now())


def _received(channel, queue):
    events = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return events
        message = ce_rabbitmq.RabbitMQMessage(headers=dict(properties.headers), body=body,
                                              content_type=properties.content_type)
        events.append(ce_rabbitmq.from_binary_event(message))


def test_events_are_published_in_log_order_as_cloudevents(outbox, broker):
    engine, table = outbox
    exchange, queue, channel, publisher = broker
    clock = ManualClock(datetime(2026, 11, 28, 9, tzinfo=timezone.utc))
    with engine.begin() as connection:
        positions = [add_event(connection, table, _event(n, clock)) for n in range(3)]
    assert positions == sorted(positions)
    relay = EventRelay(engine, table, publisher, exchange, clock)
    assert relay.publish_due() == 3
    assert relay.publish_due() == 0
    events = _received(channel, queue)
    assert [e.get_data() for e in events] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert events[0].get_type() == "pe.test.thing_happened.v1"
    assert events[0].get_subject() == "thing-0"
    assert events[0].get_source() == "/pe-insight/test"


def test_relay_killed_between_publish_and_marking_publishes_again(outbox, broker, monkeypatch):
    engine, table = outbox
    exchange, queue, channel, publisher = broker
    clock = ManualClock(datetime(2026, 11, 28, 9, tzinfo=timezone.utc))
    with engine.begin() as connection:
        add_event(connection, table, _event(1, clock))
    dying = EventRelay(engine, table, publisher, exchange, clock)

    def crash(_published, _unpublished):  # dies after the broker's confirm, before marking or releasing
        raise SystemExit("killed")
    monkeypatch.setattr(dying, "_settle", crash)
    with pytest.raises(SystemExit):
        dying.publish_due()

    survivor = EventRelay(engine, table, publisher, exchange, clock)
    assert survivor.publish_due() == 0  # the dead relay's lease still holds
    clock.advance(timedelta(minutes=1))
    assert survivor.publish_due() == 1
    events = _received(channel, queue)
    assert len(events) == 2 and events[0].get_id() == events[1].get_id()
    with engine.connect() as connection:
        assert connection.execute(select(table.c.published_at)).scalar_one() is not None


def test_broker_down_keeps_events_for_later(outbox, broker):
    engine, table = outbox
    exchange, queue, channel, _ = broker
    clock = ManualClock(datetime(2026, 11, 28, 9, tzinfo=timezone.utc))
    with engine.begin() as connection:
        add_event(connection, table, _event(7, clock))
    from svckit.amqp import PublishError
    broken = EventRelay(engine, table, ConfirmingPublisher("amqp://guest:guest@127.0.0.1:1/%2F", timeout=1),
                        exchange, clock)
    with pytest.raises(PublishError):
        broken.publish_due()
    with engine.connect() as connection:
        assert connection.execute(select(table.c.published_at)).scalar_one() is None


def test_a_running_relay_publishes_a_commit_made_during_its_pass_without_waiting_for_the_poll(outbox, broker):
    """Woken for one event, a relay whose poll is far away publishes it, then one more committed
    (and woken for) while that pass ran, then passes no more until it is woken again."""
    import threading
    import time
    engine, table = outbox
    exchange, queue, channel, publisher = broker
    clock = ManualClock(datetime(2026, 11, 28, 9, tzinfo=timezone.utc))
    relay = EventRelay(engine, table, publisher, exchange, clock, poll_seconds=60)
    passes, publish_due, due_rows = [], relay.publish_due, relay._due_rows

    def claim_then_a_commit_lands():
        rows = due_rows()
        if not passes:  # a commit lands, and wakes the relay, after its first pass has claimed
            with engine.begin() as connection:
                add_event(connection, table, _event(2, clock))
            relay.wake()
        return rows

    def counted_pass():
        passes.append(publish_due())
        return passes[-1]
    relay._due_rows, relay.publish_due = claim_then_a_commit_lands, counted_pass
    with engine.begin() as connection:
        add_event(connection, table, _event(1, clock))
    runner = threading.Thread(target=relay.run)
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while sum(passes) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # time enough for any further pass
        assert passes == [1, 1]  # the second event at once; no empty pass after either
    finally:
        relay.stop()
        runner.join(10)
    assert [e.get_data() for e in _received(channel, queue)] == [{"n": 1}, {"n": 2}]
