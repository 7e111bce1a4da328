"""A subscriber of the consent events, bound to the exchange like any other system would be."""
from __future__ import annotations

import time
import uuid

import pika
from cloudevents.core.bindings import rabbitmq as ce_rabbitmq

from svckit.amqp import declare_topic_exchange


class Subscriber:
    def __init__(self, amqp_url: str, exchange: str, pattern: str = "#"):
        self.connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
        self.channel = self.connection.channel()
        self.queue = f"test.subscriber.{uuid.uuid4().hex[:8]}"
        declare_topic_exchange(self.channel, exchange)  # as every publisher and subscriber declares it
        self.channel.queue_declare(self.queue, exclusive=True)
        self.channel.queue_bind(self.queue, exchange, pattern)
        self.received = []

    def poll(self) -> list:
        while True:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.received
            message = ce_rabbitmq.RabbitMQMessage(headers=dict(properties.headers or {}), body=body,
                                                  content_type=properties.content_type)
            self.received.append((method.routing_key, dict(properties.headers or {}),
                                  ce_rabbitmq.from_binary_event(message)))

    def wait_for(self, predicate, timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            matching = [entry for entry in self.poll() if predicate(entry)]
            if matching:
                return matching
            time.sleep(0.1)
        raise AssertionError(f"no matching event within {timeout} s; got {[r[0] for r in self.received]}")

    def close(self) -> None:
        self.connection.close()
