"""Publisher confirms, mandatory routing, late acks and dead-lettering against a real RabbitMQ."""
import threading
import time
import uuid

import pika
import pytest

from svckit.amqp import (ConfirmingPublisher, Consumer, Message, PublishError, QueueSpec, check_broker,
                         connect, declare_queue)
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
    for name in (queue, f"{queue}.dead"):
        channel.queue_delete(name)
    channel.queue_delete(f"{exchange}.unrouted")
    for name in (exchange, f"{exchange}.unrouted", f"{queue}.dlx"):
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
    assert _queue_depth(amqp_url, f"{exchange}.unrouted") == 1


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
    thread = threading.Thread(target=consumer.run, kwargs={"poll_seconds": 0.1})
    thread.start()
    try:
        assert _wait(lambda: len(dead) == 1 and len(handled) == 2)
    finally:
        consumer.stop()
        thread.join(5)
    assert sorted(handled) == [b"one", b"two"]
    assert attempts.count(b"poison") == 3
    assert _queue_depth(amqp_url, queue) == 0
    assert _queue_depth(amqp_url, f"{queue}.dead") == 1
