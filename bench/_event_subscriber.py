"""A subscriber process for the consent_events benchmark:
`python -m bench._event_subscriber AMQP_URL EXCHANGE=PATTERN... [--cpus=0,1]`.

It declares each exchange as svckit does (declare_topic_exchange) and a queue of its own
(exclusive, auto-deleted) bound to each with its pattern, prints `READY`, and then notes the time
each message arrives before it looks at it (auto-ack, prefetch 1,000: a lean consumer). For each
line `dump` on its stdin it writes one JSON line, `[[routing_key, body, received_ns], ...]`, of
what came since the last dump. It stops when its stdin closes.

Times are `bench._clock.now_ns()` (CLOCK_MONOTONIC, one clock for every process on the machine),
so they compare with the stamps the benchmark takes in its own process.
"""
from __future__ import annotations

import json
import os
import sys
import threading

import pika
from svckit.amqp import declare_topic_exchange

from bench._clock import now_ns


def main() -> None:
    args = sys.argv[1:]
    cpus = [a for a in args if a.startswith("--cpus=")]
    if cpus:  # before pika starts anything
        os.sched_setaffinity(0, {int(cpu) for cpu in cpus[0].split("=", 1)[1].split(",")})
    url, bindings = args[0], [b.split("=", 1) for b in args[1:] if not b.startswith("--cpus=")]
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
    for exchange, pattern in bindings:
        declare_topic_exchange(channel, exchange)  # as every publisher and subscriber declares it
        channel.queue_bind(queue, exchange, pattern)
    channel.basic_qos(prefetch_count=1000)
    received, lock = [], threading.Lock()

    def on_message(_channel, method, _properties, body):
        at = now_ns()
        with lock:
            received.append((method.routing_key, body, at))

    channel.basic_consume(queue, on_message, auto_ack=True)

    def commands():
        for line in sys.stdin:
            if line.strip() == "dump":
                with lock:
                    taken, received[:] = list(received), []
                sys.stdout.write(json.dumps([[key, body.decode(), at] for key, body, at in taken]) + "\n")
                sys.stdout.flush()
        connection.add_callback_threadsafe(channel.stop_consuming)

    threading.Thread(target=commands, daemon=True).start()
    print("READY", flush=True)
    channel.start_consuming()
    connection.close()


if __name__ == "__main__":
    main()
