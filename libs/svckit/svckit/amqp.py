"""RabbitMQ: a publisher that waits for the broker's confirm, and a consumer that acks late.

Messages are persistent and published with the mandatory flag, so a message the broker
cannot route is an error, not a silent loss. Every queue is a quorum queue, replicated over
the nodes of a RabbitMQ cluster (3.10 or later), so a node can go down without losing a queue
or a message. The consumer acknowledges only after its handler returned; a message whose
handler keeps failing is delivered again up to the queue's delivery limit, counted by the
broker (which also counts a delivery whose consumer died holding it), and then moved to the
queue's dead-letter queue, so it never blocks the messages behind it.

Earlier releases declared classic queues, which RabbitMQ cannot turn into quorum queues; the
quorum queues therefore have names of their own (`.v2`), and each consumer takes over from the
classic queue it replaces (QueueSpec.replaces): it unbinds it, handles what is left in it and
deletes it once it is empty and no consumer of an earlier release is attached.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pika
from pika.exceptions import AMQPError, ChannelClosedByBroker

from svckit.config import mask_url
from svckit.logs import get_logger
from svckit.process import Worker
from svckit.startup import DependencyError

log = get_logger(__name__)

QUORUM = {"x-queue-type": "quorum"}
# Unroutable messages (no subscriber bound for them) are kept this long, and at most this many
# of them, the oldest dropped first: long enough to find and mend a missing binding, bounded so
# that nobody reading them cannot fill the broker's disk.
UNROUTED_MAX_MESSAGES = 10_000
UNROUTED_MAX_AGE_SECONDS = 7 * 24 * 3600
# How often a consumer looks again at a classic queue it could not delete yet (a consumer of an
# earlier release was still attached, or it still held messages).
RETIRE_CHECK_SECONDS = 60.0
NOT_FOUND, PRECONDITION_FAILED = 404, 406


class PublishError(Exception):
    """The broker did not confirm a message: it was not routed, refused, or the link broke."""


def _parameters(url: str, timeout: float) -> pika.URLParameters:
    parameters = pika.URLParameters(url)
    parameters.socket_timeout = timeout
    parameters.blocked_connection_timeout = max(timeout, 30)
    parameters.connection_attempts = 1
    parameters.heartbeat = 30
    return parameters


def connect(url: str, timeout: float = 5.0) -> pika.BlockingConnection:
    try:
        return pika.BlockingConnection(_parameters(url, timeout))
    except AMQPError as error:
        reason = str(error) or type(error).__name__
        raise DependencyError(
            f"cannot reach RabbitMQ at {mask_url(url)} ({reason}); set AMQP_URL, or start one with "
            "'docker compose up -d rabbitmq' or the Debian package 'rabbitmq-server'") from None


def check_broker(url: str, timeout: float = 5.0) -> None:
    connect(url, timeout).close()


def unrouted_queue(exchange: str) -> str:
    return f"{exchange}.unrouted.v2"


def declare_topic_exchange(channel, name: str) -> None:
    """A durable topic exchange whose unroutable messages go, through its alternate exchange
    `<name>.unrouted`, to the bounded queue `unrouted_queue(name)`.

    With no subscriber bound yet, an event still has somewhere to go, so a publisher using the
    mandatory flag is not refused; the recent ones can be looked at there (subscribers catch up
    from the publishing service's own event log, not from this queue).
    """
    unrouted = f"{name}.unrouted"
    channel.exchange_declare(exchange=unrouted, exchange_type="fanout", durable=True)
    channel.queue_declare(queue=unrouted_queue(name), durable=True, arguments={
        **QUORUM, "x-max-length": UNROUTED_MAX_MESSAGES, "x-message-ttl": UNROUTED_MAX_AGE_SECONDS * 1000,
        "x-overflow": "drop-head"})
    channel.queue_bind(queue=unrouted_queue(name), exchange=unrouted)
    channel.exchange_declare(exchange=name, exchange_type="topic", durable=True,
                             arguments={"alternate-exchange": unrouted})


def retire_classic_unrouted(connection: pika.BlockingConnection, exchange: str) -> None:
    """Earlier releases kept unroutable messages in the unbounded classic queue `<exchange>.unrouted`:
    unbind it, so it grows no more, and delete it if it is empty. One that still holds messages is
    left for an operator to look at and delete (`rabbitmqctl delete_queue`)."""
    classic = f"{exchange}.unrouted"
    held = _retire(connection, classic, ((classic, ""),), drain=None)
    if held:
        log.warning("the classic queue of unrouted messages is unbound but still holds messages; "
                    "look at them and delete it", queue=classic, messages=held)


@dataclass
class Message:
    routing_key: str
    body: bytes
    headers: Mapping[str, object] = field(default_factory=dict)
    content_type: str = "application/json"
    message_id: str | None = None


class _Confirms:
    """Publisher confirms, pipelined: publish a batch, then wait once for the broker's answers.

    pika's blocking channel waits for each confirm in turn, which bounds a publisher to one
    message per broker round trip (a disk write for persistent messages). This drives the
    asynchronous channel underneath it instead, so a batch costs about one round trip.
    """

    def __init__(self, connection: pika.BlockingConnection, channel, timeout: float):
        self._connection, self._impl, self._timeout = connection, channel._impl, timeout
        self._next_tag = 1
        self._answers: dict[int, bool] = {}   # delivery tag -> acked
        self._returned: set[str] = set()      # message ids the broker could not route
        ready: list[bool] = []
        self._impl.confirm_delivery(ack_nack_callback=self._on_confirm, callback=lambda _frame: ready.append(True))
        self._impl.add_on_return_callback(self._on_return)
        self._wait(lambda: bool(ready))

    def _on_confirm(self, frame) -> None:
        method = frame.method
        acked = isinstance(method, pika.spec.Basic.Ack)
        tags = range(1, method.delivery_tag + 1) if method.multiple else (method.delivery_tag,)
        for tag in tags:
            self._answers.setdefault(tag, acked)

    def _on_return(self, _channel, _method, properties, _body) -> None:
        self._returned.add(properties.message_id)

    def _wait(self, done) -> None:
        deadline = time.monotonic() + self._timeout
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishError("the broker did not confirm in time")
            # Confirms arrive through callbacks, which do not end process_data_events early;
            # short slices keep the wait close to the broker's answer.
            self._connection.process_data_events(time_limit=min(remaining, 0.001))

    def publish(self, exchange: str, messages: Sequence[Message]) -> list[str | None]:
        """Publish all; answer per message None when confirmed, else why it was not."""
        tags = []
        for message in messages:
            properties = pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent, content_type=message.content_type,
                headers=dict(message.headers), message_id=message.message_id)
            self._impl.basic_publish(exchange, message.routing_key, message.body, properties, mandatory=True)
            tags.append(self._next_tag)
            self._next_tag += 1
        self._wait(lambda: all(tag in self._answers for tag in tags))
        outcome = []
        for tag, message in zip(tags, messages):
            if not self._answers.pop(tag):
                outcome.append(f"the broker refused {exchange}/{message.routing_key}")
            elif message.message_id in self._returned:
                self._returned.discard(message.message_id)
                outcome.append(f"no queue is bound for {exchange}/{message.routing_key}")
            else:
                outcome.append(None)
        return outcome


class ConfirmingPublisher:
    """Publishes messages and returns only once the broker has confirmed them."""

    def __init__(self, url: str, *, exchanges: tuple[str, ...] = (), timeout: float = 5.0):
        self._url, self._timeout, self._exchanges = url, timeout, exchanges
        self._connection = None
        self._confirms: _Confirms | None = None
        self._lock = threading.Lock()

    def _ensure_channel(self) -> _Confirms:
        if self._confirms is None or self._connection is None or not self._connection.is_open:
            self.close()
            self._connection = connect(self._url, self._timeout)
            channel = self._connection.channel()
            for exchange in self._exchanges:
                declare_topic_exchange(channel, exchange)
                retire_classic_unrouted(self._connection, exchange)
            self._confirms = _Confirms(self._connection, channel, self._timeout)
        return self._confirms

    def publish(self, exchange: str, message: Message) -> None:
        problem = self.publish_batch(exchange, [message])[0]
        if problem:
            raise PublishError(problem)

    def publish_batch(self, exchange: str, messages: Sequence[Message]) -> list[str | None]:
        """Publish a batch with one wait for confirms; per message None (confirmed) or the reason it was not.

        Raises PublishError when the broker cannot be reached or the link breaks: then none of
        the batch may be taken as delivered.
        """
        if not messages:
            return []
        with self._lock:
            try:
                return self._ensure_channel().publish(exchange, messages)
            except PublishError:
                self.close()
                raise
            except (AMQPError, DependencyError, OSError) as error:
                self.close()
                raise PublishError(f"lost the broker while publishing: {error or type(error).__name__}") from None

    def close(self) -> None:
        connection, self._connection, self._confirms = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except AMQPError:
                pass


@dataclass(frozen=True)
class QueueSpec:
    """A durable quorum queue of one consumer, its bindings and its dead-letter queue.

    A message is delivered at most `max_attempts` times; `replaces` names the classic queue of
    an earlier release that this one takes over from.
    """
    name: str
    bindings: tuple[tuple[str, str], ...]  # (exchange, routing key pattern)
    max_attempts: int = 5
    prefetch: int = 50
    replaces: str | None = None

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.name}.dlx"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dead"


def declare_queue(channel, spec: QueueSpec) -> None:
    """The queue and its dead-letter queue, both quorum queues. Dead-lettering is at least once:
    a message leaves the queue only once its dead-letter queue has it."""
    channel.exchange_declare(exchange=spec.dead_letter_exchange, exchange_type="fanout", durable=True)
    channel.queue_declare(queue=spec.dead_letter_queue, durable=True, arguments=QUORUM)
    channel.queue_bind(queue=spec.dead_letter_queue, exchange=spec.dead_letter_exchange)
    channel.queue_declare(queue=spec.name, durable=True, arguments={
        **QUORUM,
        # RabbitMQ counts the deliveries after the first: a message is delivered max_attempts times.
        "x-delivery-limit": spec.max_attempts - 1,
        "x-dead-letter-exchange": spec.dead_letter_exchange,
        "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
    for exchange, pattern in spec.bindings:
        declare_topic_exchange(channel, exchange)
        channel.queue_bind(queue=spec.name, exchange=exchange, routing_key=pattern)


Handler = Callable[[Message], None]


class Consumer:
    """Consumes one queue with manual acks: ack after the handler, deliver again, then dead-letter."""

    def __init__(self, url: str, spec: QueueSpec, handler: Handler,
                 on_dead_letter: Callable[[Message, Exception], None] = lambda m, e: None):
        self._url, self._spec, self._handler = url, spec, handler
        self._on_dead_letter = on_dead_letter
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self, poll_seconds: float = 0.5, retire_check_seconds: float = RETIRE_CHECK_SECONDS) -> None:
        """Consume until stop() is called; returns after the current message is settled."""
        connection = connect(self._url)
        try:
            channel = connection.channel()
            declare_queue(channel, self._spec)
            channel.basic_qos(prefetch_count=self._spec.prefetch)
            replaced_gone = self._retire_replaced(connection)
            next_look = time.monotonic() + retire_check_seconds
            for method, properties, body in channel.consume(self._spec.name, inactivity_timeout=poll_seconds):
                if self._stopping.is_set():
                    break
                if not replaced_gone and time.monotonic() >= next_look:
                    replaced_gone = self._retire_replaced(connection)
                    next_look = time.monotonic() + retire_check_seconds
                if method is None:
                    continue
                # The broker counts earlier deliveries of a quorum queue's message in x-delivery-count.
                earlier = int((properties.headers or {}).get("x-delivery-count", 0))
                self._settle(channel, method, properties, body, delivery=earlier + 1)
        finally:
            if connection.is_open:
                connection.close()

    def _settle(self, channel, method, properties, body, *, delivery: int) -> bool:
        """Handle one message and ack it; a failure is delivered again, or dead-lettered after
        its last attempt. Answers whether the handler succeeded."""
        message = Message(method.routing_key, body, dict(properties.headers or {}), properties.content_type or "",
                          properties.message_id)
        try:
            self._handler(message)
        except Exception as error:  # the handler's failure decides retry or dead letter, never a crash
            last = delivery >= self._spec.max_attempts
            (log.error if last else log.warning)(
                "message dead-lettered" if last else "message failed, will retry", queue=self._spec.name,
                routing_key=message.routing_key, message_id=message.message_id, attempts=delivery, error=str(error))
            if last:
                self._on_dead_letter(message, error)
            channel.basic_nack(method.delivery_tag, requeue=not last)
            return False
        channel.basic_ack(method.delivery_tag)
        return True

    def _retire_replaced(self, connection: pika.BlockingConnection) -> bool:
        """Take over from the classic queue this one replaces: unbind it (this queue is bound
        already, so nothing published meanwhile is missed; what both received is handled twice,
        which the handlers' idempotence absorbs), handle the messages left in it, and delete it.
        Answers whether it is gone."""
        if self._spec.replaces is None:
            return True
        failures: Counter = Counter()

        def drain(channel) -> None:
            while not self._stopping.is_set():
                method, properties, body = channel.basic_get(self._spec.replaces)
                if method is None:
                    return
                # A classic queue counts no deliveries: a failed message comes straight back, so
                # its attempts are counted here.
                key = (properties.message_id, body)
                if not self._settle(channel, method, properties, body, delivery=failures[key] + 1):
                    failures[key] += 1

        left = _retire(connection, self._spec.replaces, self._spec.bindings, drain)
        if left is None:
            log.info("took over from the classic queue", queue=self._spec.name, classic_queue=self._spec.replaces)
        return left is None


def _retire(connection: pika.BlockingConnection, queue: str, bindings: Sequence[tuple[str, str]],
            drain: Callable[[object], None] | None) -> int | None:
    """Unbind a classic queue of an earlier release, let `drain` empty it, and delete it unless
    it still holds messages or a consumer. Answers None once it is gone, or how many messages it
    still holds. Replicas may do this at once: a queue another deleted is gone all the same."""
    channel = connection.channel()
    try:
        channel.queue_declare(queue, passive=True)
        for exchange, pattern in bindings:
            channel.queue_unbind(queue=queue, exchange=exchange, routing_key=pattern)
        if drain is not None:
            drain(channel)
        channel.queue_delete(queue, if_unused=True, if_empty=True)
        return None
    except ChannelClosedByBroker as error:
        if error.reply_code == NOT_FOUND:
            return None
        if error.reply_code != PRECONDITION_FAILED:  # in use by a consumer of an earlier release, or not empty
            raise
    finally:
        if channel.is_open:
            channel.close()
    return _message_count(connection, queue)


def _message_count(connection: pika.BlockingConnection, queue: str) -> int | None:
    channel = connection.channel()
    try:
        return channel.queue_declare(queue, passive=True).method.message_count
    except ChannelClosedByBroker as error:
        if error.reply_code == NOT_FOUND:
            return None
        raise
    finally:
        if channel.is_open:
            channel.close()


def consuming_worker(name: str, consumer: Consumer, *, on_stop: Callable[[], None] = lambda: None,
                     max_backoff_seconds: float = 30.0) -> Worker:
    """The consumer as a worker of its process: it consumes until stopped, and a lost broker is
    reached again after a wait that doubles from 1 s (up to `max_backoff_seconds`) instead of the
    worker ending. Messages not yet acknowledged come back from the broker meanwhile."""
    stopping = threading.Event()

    def run() -> None:
        backoff = 1.0
        while not stopping.is_set():
            try:
                consumer.run()
                backoff = 1.0
            except Exception as error:
                log.warning("consumer lost the broker, reconnecting", worker=name,
                            error=str(error) or type(error).__name__, retry_in_seconds=backoff)
                stopping.wait(backoff)
                backoff = min(backoff * 2, max_backoff_seconds)

    def stop() -> None:
        stopping.set()
        on_stop()
        consumer.stop()

    return Worker(name, run, stop)
