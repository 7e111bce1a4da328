"""Publisher confirms, mandatory routing, late acks, quorum queues with their delivery limit and
dead-lettering, and the take-over from classic queues of earlier releases, against a real RabbitMQ."""
import json
import subprocess
import threading
import time
import uuid
from urllib.parse import unquote, urlsplit

import pika
import pytest

from svckit.amqp import (UNROUTED_MAX_AGE_SECONDS, UNROUTED_MAX_MESSAGES, ConfirmingPublisher, Consumer, Message,
                         PublishError, QueueSpec, check_broker, connect, declare_queue, unrouted_queue)
from svckit.startup import DependencyError

pytestmark = pytest.mark.integration


@pytest.fixture
def names():
    suffix = uuid.uuid4().hex[:8]
    yield f"test.events.{suffix}", f"test.queue.{suffix}"


@pytest.fixture
def cleanup(amqp_url, names):
    yield
    exchange, queue = names
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    for name in (queue, f"{queue}.dead", f"{queue}.v2", f"{queue}.v2.dead", unrouted_queue(exchange),
                 f"{exchange}.unrouted"):
        channel.queue_delete(name)
    for name in (exchange, f"{exchange}.unrouted", f"{queue}.dlx", f"{queue}.v2.dlx"):
        channel.exchange_delete(name)
    connection.close()


def _wait(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _queue_depth(amqp_url, queue):
    connection = connect(amqp_url)
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def _exists(amqp_url, queue) -> bool:
    connection = connect(amqp_url)
    try:
        connection.channel().queue_declare(queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if connection.is_open:
            connection.close()


def _described(amqp_url, *queues) -> dict[str, tuple[str, dict]]:
    """Each queue's type and arguments, as the broker's own tool lists them."""
    vhost = unquote(urlsplit(amqp_url).path[1:]) or "/"
    listed = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "type", "arguments",
                             "--formatter", "json"], check=True, capture_output=True, text=True, timeout=60)
    return {entry["name"]: (entry["type"], {name: value for name, _, value in entry["arguments"]})
            for entry in json.loads(listed.stdout) if entry["name"] in queues}


def _classic_queue_of_an_earlier_release(amqp_url, spec: QueueSpec, bodies) -> None:
    """The classic queue and dead-letter queue earlier releases declared, bound as they bound it,
    holding `bodies`."""
    connection = connect(amqp_url)
    channel = connection.channel()
    old = spec.replaces
    channel.exchange_declare(f"{old}.dlx", "fanout", durable=True)
    channel.queue_declare(f"{old}.dead", durable=True)
    channel.queue_bind(f"{old}.dead", f"{old}.dlx")
    channel.queue_declare(old, durable=True, arguments={"x-dead-letter-exchange": f"{old}.dlx"})
    for exchange, pattern in spec.bindings:
        channel.exchange_declare(exchange, "topic", durable=True, arguments={"alternate-exchange": f"{exchange}.unrouted"})
        channel.queue_bind(old, exchange, pattern)
    channel.confirm_delivery()
    for body in bodies:
        channel.basic_publish("", old, body, pika.BasicProperties(delivery_mode=2, message_id=body.decode()))
    connection.close()


def _consuming(consumer: Consumer, **options) -> threading.Thread:
    thread = threading.Thread(target=consumer.run, kwargs={"poll_seconds": 0.1, **options})
    thread.start()
    return thread


def test_unreachable_broker_is_one_line_naming_amqp_url():
    with pytest.raises(DependencyError) as caught:
        check_broker("amqp://guest:secret@127.0.0.1:1/%2F", timeout=1)
    message = str(caught.value)
    assert "AMQP_URL" in message and "docker compose up -d rabbitmq" in message
    assert "secret" not in message


def test_message_nobody_subscribed_to_is_kept_not_lost(amqp_url, names, cleanup):
    exchange, _ = names
    publisher = ConfirmingPublisher(amqp_url, exchanges=(exchange,))
    publisher.publish(exchange, Message("nobody.listens", b"{}"))
    publisher.close()
    assert _queue_depth(amqp_url, unrouted_queue(exchange)) == 1


def test_unrouted_messages_are_kept_in_a_bounded_quorum_queue(amqp_url, names, cleanup):
    exchange, _ = names
    ConfirmingPublisher(amqp_url, exchanges=(exchange,)).publish(exchange, Message("nobody.listens", b"{}"))
    kind, arguments = _described(amqp_url, unrouted_queue(exchange))[unrouted_queue(exchange)]
    assert kind == "quorum"
    assert arguments == {"x-queue-type": "quorum", "x-max-length": UNROUTED_MAX_MESSAGES,
                         "x-message-ttl": UNROUTED_MAX_AGE_SECONDS * 1000, "x-overflow": "drop-head"}


def test_the_unbounded_classic_unrouted_queue_of_earlier_releases_is_unbound_and_deleted(amqp_url, names, cleanup):
    exchange, _ = names
    connection = connect(amqp_url)
    channel = connection.channel()
    channel.exchange_declare(f"{exchange}.unrouted", "fanout", durable=True)
    channel.queue_declare(f"{exchange}.unrouted", durable=True)
    channel.queue_bind(f"{exchange}.unrouted", f"{exchange}.unrouted")
    connection.close()
    publisher = ConfirmingPublisher(amqp_url, exchanges=(exchange,))
    publisher.publish(exchange, Message("nobody.listens", b"{}"))
    publisher.close()
    assert not _exists(amqp_url, f"{exchange}.unrouted")
    assert _queue_depth(amqp_url, unrouted_queue(exchange)) == 1


def test_unroutable_message_without_a_fallback_is_an_error(amqp_url, names, cleanup):
    _, queue = names
    publisher = ConfirmingPublisher(amqp_url)
    with pytest.raises(PublishError, match="no queue is bound"):
        publisher.publish("amq.topic", Message(f"{queue}.nobody", b"{}"))
    publisher.close()


def test_consumer_acks_after_handling_and_dead_letters_poison(amqp_url, names, cleanup):
    exchange, queue = names
    spec = QueueSpec(queue, ((exchange, "thing.#"),), max_attempts=3)
    connection = connect(amqp_url)
    declare_queue(connection.channel(), spec)
    connection.close()

    publisher = ConfirmingPublisher(amqp_url, exchanges=(exchange,))
    for body in (b"one", b"poison", b"two"):
        publisher.publish(exchange, Message("thing.happened", body, message_id=body.decode()))
    publisher.close()

    handled, attempts, dead = [], [], []

    def handle(message):
        attempts.append(message.body)
        if message.body == b"poison":
            raise ValueError("cannot read this")
        handled.append(message.body)

    consumer = Consumer(amqp_url, spec, handle, on_dead_letter=lambda m, e: dead.append(m.body))
    thread = _consuming(consumer)
    try:
        assert _wait(lambda: len(dead) == 1 and len(handled) == 2)
    finally:
        consumer.stop()
        thread.join(5)
    assert sorted(handled) == [b"one", b"two"]
    assert attempts.count(b"poison") == 3
    assert _queue_depth(amqp_url, queue) == 0
    assert _queue_depth(amqp_url, f"{queue}.dead") == 1


def test_the_queue_and_its_dead_letter_queue_are_quorum_queues_with_a_delivery_limit(amqp_url, names, cleanup):
    exchange, queue = names
    spec = QueueSpec(queue, ((exchange, "thing.#"),), max_attempts=4)
    connection = connect(amqp_url)
    declare_queue(connection.channel(), spec)
    connection.close()
    described = _described(amqp_url, queue, spec.dead_letter_queue)
    assert described[queue] == ("quorum", {
        "x-queue-type": "quorum", "x-delivery-limit": 3, "x-dead-letter-exchange": spec.dead_letter_exchange,
        "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
    assert described[spec.dead_letter_queue] == ("quorum", {"x-queue-type": "quorum"})


def test_a_message_whose_consumer_dies_each_time_is_dead_lettered_at_the_delivery_limit(amqp_url, names, cleanup):
    """The broker counts the deliveries: one that kills its consumer (the process dies holding it)
    is dead-lettered after max_attempts deliveries too, as no handler lives to do it."""
    exchange, queue = names
    spec = QueueSpec(queue, ((exchange, "thing.#"),), max_attempts=3)
    connection = connect(amqp_url)
    declare_queue(connection.channel(), spec)
    connection.close()
    publisher = ConfirmingPublisher(amqp_url, exchanges=(exchange,))
    publisher.publish(exchange, Message("thing.happened", b"deadly", message_id="deadly"))
    publisher.close()
    deliveries = 0
    for _ in range(spec.max_attempts + 1):
        dying = connect(amqp_url)
        method, _, _ = dying.channel().basic_get(queue)
        dying.close()  # gone without an ack or a nack
        deliveries += method is not None
    assert deliveries == spec.max_attempts
    assert _wait(lambda: _queue_depth(amqp_url, spec.dead_letter_queue) == 1)
    assert _queue_depth(amqp_url, queue) == 0


def test_a_consumer_takes_over_from_the_classic_queue_of_an_earlier_release(amqp_url, names, cleanup):
    """What the classic queue still held is handled (and a poison message dead-lettered to its own
    dead-letter queue), events published from then on reach the new queue only, and the classic
    queue is deleted once it is empty."""
    exchange, queue = names
    spec = QueueSpec(f"{queue}.v2", ((exchange, "thing.#"),), max_attempts=2, replaces=queue)
    _classic_queue_of_an_earlier_release(amqp_url, spec, [b"left-1", b"poison", b"left-2"])
    handled, dead = [], []

    def handle(message):
        if message.body == b"poison":
            raise ValueError("cannot read this")
        handled.append(message.body)

    consumer = Consumer(amqp_url, spec, handle, on_dead_letter=lambda m, e: dead.append(m.body))
    thread = _consuming(consumer)
    try:
        assert _wait(lambda: not _exists(amqp_url, queue))
        publisher = ConfirmingPublisher(amqp_url, exchanges=(exchange,))
        publisher.publish(exchange, Message("thing.happened", b"new", message_id="new"))
        publisher.close()
        assert _wait(lambda: len(handled) == 3)
    finally:
        consumer.stop()
        thread.join(5)
    assert sorted(handled) == [b"left-1", b"left-2", b"new"] and dead == [b"poison"]
    assert _queue_depth(amqp_url, f"{queue}.dead") == 1  # the earlier release's dead letters stay for operators


def test_a_classic_queue_still_consumed_by_an_earlier_release_is_unbound_and_deleted_once_free(
        amqp_url, names, cleanup):
    exchange, queue = names
    spec = QueueSpec(f"{queue}.v2", ((exchange, "thing.#"),), replaces=queue)
    _classic_queue_of_an_earlier_release(amqp_url, spec, [])
    earlier = connect(amqp_url)  # a replica of the earlier release, still running
    earlier_got = []
    earlier.channel().basic_consume(queue, lambda _ch, _method, _props, body: earlier_got.append(body), auto_ack=True)
    handled = []
    consumer = Consumer(amqp_url, spec, lambda message: handled.append(message.body))
    thread = _consuming(consumer, retire_check_seconds=0.2)
    try:
        assert _wait(lambda: _consumers(amqp_url, spec.name) == 1)  # it consumes once it has unbound the old one
        publisher = ConfirmingPublisher(amqp_url, exchanges=(exchange,))
        publisher.publish(exchange, Message("thing.happened", b"new", message_id="new"))
        publisher.close()
        assert _wait(lambda: handled == [b"new"])
        earlier.process_data_events(time_limit=0.3)
        assert earlier_got == []
        assert _exists(amqp_url, queue)  # kept while the earlier release consumes it
        earlier.close()
        assert _wait(lambda: not _exists(amqp_url, queue))
    finally:
        consumer.stop()
        thread.join(5)
        if earlier.is_open:
            earlier.close()


def _consumers(amqp_url, queue) -> int:
    connection = connect(amqp_url)
    try:
        return connection.channel().queue_declare(queue, passive=True).method.consumer_count
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        if connection.is_open:
            connection.close()
