"""consent_events: from a grant's commit to its event at a subscriber, beside a plain publish round trip.

The subject is the consent service's write path as bootstrap wires it: `handlers.grant_consents`
with a real ConsentStore on a real database (fakes only for the organisation and identity
directories), the consent, its history row, its outbox event and its receipt mail written in one
transaction; svckit's EventRelay, on a thread of its own as `serve()` runs it, publishing through a
ConfirmingPublisher to a real RabbitMQ (AMQP_URL), on an exchange declared as 'pe.consent' is (this
run's own unless BENCH_CONSENT_EXCHANGE names one, see CONSENT_EXCHANGE); and the handlers'
`on_events` hook set to `relay.wake`, as in production, so the relay looks right after a commit
instead of at its next poll (every 0.2 s). The only addition is a timestamp taken in that hook:
the moment the grant's transaction had committed.

Grants are made open loop: one every 5 ms (200 a second), each on a new (professional, contact)
pair so each grants one consent and writes one event, started on time whether or not the previous
one has finished (a few worker threads, as gRPC's would). A subscriber in a process of its own,
with a queue of its own bound to that exchange with 'consent.#', notes when each event arrives.

The anchor, in the same run on the same broker: pika alone publishing (persistent, mandatory,
waiting for the broker's confirm, as ConfirmingPublisher does) a message of the same size every
5 ms to an exchange declared the same way, the time of publishing in the message, to the same
subscriber. Both sides take turns in rounds. It runs on SQLite (a file, the default) and on
PostgreSQL when one answers, like consent_access.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pika
from prometheus_client import CollectorRegistry

from bench._clock import now_ns
from bench._databases import postgres_admin_url, scratch_postgres
from bench.harness import REPO_ROOT, Comparison, Side, benchmark, percentiles, usable_cpus

sys.path.insert(0, str(REPO_ROOT / "services" / "consent" / "tests"))
from consent import events, handlers  # noqa: E402
from consent.__main__ import MIGRATIONS  # noqa: E402
from consent.domain import ChangeKind, ConsentChanged  # noqa: E402
from consent.handlers import Dependencies  # noqa: E402
from consent.mails import Mails  # noqa: E402
from consent.repository import ConsentStore, event_outbox  # noqa: E402
from consent_testkit import PUBLIC_URL, Directory, FakeAccounts, FakeOrganisations  # noqa: E402
from svckit.amqp import ConfirmingPublisher, declare_topic_exchange  # noqa: E402
from svckit.clock import SystemClock  # noqa: E402
from svckit.event_outbox import EventRelay, RelayMetrics, to_message  # noqa: E402
from svckit.logs import configure_logging  # noqa: E402
from svckit.process import open_database  # noqa: E402

FULL = {"seconds_per_side": 20.0, "rounds": 2}
QUICK = {"seconds_per_side": 3.0, "rounds": 1}
INTERVAL_S = 0.005          # 200 a second
GRANT_WORKERS = 4           # grants in flight at once, at most
DRAIN_TIMEOUT_S = 60.0      # for the last events of a round to arrive
WARMUP = 20                 # grants (and publishes) before measuring
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
# The consent events go to an exchange of this run's own, declared as 'pe.consent' is, unless
# BENCH_CONSENT_EXCHANGE names one: on a shared broker other services' queues are bound to
# 'pe.consent' (reporting's, durable), and would take in thousands of made-up consent events.
CONSENT_EXCHANGE = os.environ.get("BENCH_CONSENT_EXCHANGE") or f"{events.EXCHANGE}.bench-{uuid.uuid4().hex[:8]}"
ANCHOR_EXCHANGE = f"pe.bench.anchor-{uuid.uuid4().hex[:8]}"
ANCHOR_KEY = "bench.published"
SUBJECT, ANCHOR = "outbox", "pika"


# --- the subscriber ----------------------------------------------------------------------------------

class Subscriber:
    """bench/_event_subscriber.py in a process of its own, bound to both sides' exchanges."""

    def __init__(self, cpus: set[int] | None):
        command = [sys.executable, "-m", "bench._event_subscriber", AMQP_URL,
                   f"{CONSENT_EXCHANGE}=consent.#", f"{ANCHOR_EXCHANGE}=bench.#"]
        if cpus:
            command.append("--cpus=" + ",".join(map(str, sorted(cpus))))
        self._process = subprocess.Popen(command, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True)
        if self._process.stdout.readline().strip() != "READY":
            self.stop()
            raise RuntimeError("the subscriber did not start")

    def take(self) -> list[tuple[str, str, int]]:
        self._process.stdin.write("dump\n")
        self._process.stdin.flush()
        return [tuple(entry) for entry in json.loads(self._process.stdout.readline())]

    def stop(self) -> None:
        try:
            self._process.stdin.close()
            self._process.wait(timeout=10)
        except (subprocess.TimeoutExpired, OSError):
            self._process.kill()
            self._process.wait()


def _collect(subscriber: Subscriber, expected: set, key_of, deadline_s: float) -> dict:
    """Arrivals by key until every expected key arrived or the time is up."""
    arrived: dict = {}
    deadline = time.monotonic() + deadline_s
    while True:
        for routing_key, body, at in subscriber.take():
            key = key_of(routing_key, body)
            if key in expected:
                arrived.setdefault(key, at)
        if expected <= arrived.keys() or time.monotonic() > deadline:
            return arrived
        time.sleep(0.05)


# --- open loop ---------------------------------------------------------------------------------------

def open_loop(n: int, task, workers: int) -> tuple[list[int], int]:
    """Start task(i) at t0 + i x INTERVAL_S on a pool of `workers` threads, whether or not the
    earlier ones have finished. Answers how late each started (ns, the wait for a free thread
    included) and the time from the first start due to the last task done (ns)."""
    lateness = [0] * n
    interval_ns = int(INTERVAL_S * 1e9)

    def run(i: int, due: int) -> None:
        lateness[i] = now_ns() - due
        task(i)

    with ThreadPoolExecutor(workers, thread_name_prefix="grant") as pool:
        futures = []
        t0 = now_ns() + 20_000_000
        for i in range(n):
            due = t0 + i * interval_ns
            wait = (due - now_ns()) / 1e9
            if wait > 0:
                time.sleep(wait)
            futures.append(pool.submit(run, i, due))
        for future in futures:
            future.result()
    return lateness, now_ns() - t0


# --- the subject: grants through the outbox ----------------------------------------------------------

class ConsentWritePath:
    """The consent service's write side as bootstrap builds it, on one database."""

    def __init__(self, kind: str, url: str, drop=lambda: None):
        self.kind, self._drop = kind, drop
        self.engine = open_database(url, MIGRATIONS)
        self.directory = Directory()
        self.organisation = self.directory.add_organisation()
        self.professionals = [self.directory.add_account(f"Professional {i}", "nl" if i % 4 else "en")
                              for i in range(50)]
        self.publisher = ConfirmingPublisher(AMQP_URL, exchanges=(CONSENT_EXCHANGE,))
        self.relay = EventRelay(self.engine, event_outbox, self.publisher, CONSENT_EXCHANGE, SystemClock(),
                                metrics=RelayMetrics(CollectorRegistry(), "consent"))
        self.passes: list[tuple[int, int]] = []  # (published, ns) of each relay pass that published
        publish_due = self.relay.publish_due

        def timed_pass() -> int:  # a probe: the relay's work, timed; nothing else changes
            started = now_ns()
            published = publish_due()
            if published:
                self.passes.append((published, now_ns() - started))
            return published
        self.relay.publish_due = timed_pass
        self._committed = threading.local()

        def on_events():  # production: on_events=relay.wake; the stamp is the benchmark's only addition
            self._committed.at = now_ns()
            self.relay.wake()
        self.deps = Dependencies(store=ConsentStore(self.engine), clock=SystemClock(),
                                 organisations=FakeOrganisations(self.directory),
                                 accounts=FakeAccounts(self.directory), mails=Mails(PUBLIC_URL),
                                 on_events=on_events)
        self._thread = threading.Thread(target=self.relay.run, name="consent-event-relay", daemon=True)
        self._thread.start()

    def round(self, n: int, subscriber: Subscriber) -> dict:
        today = datetime.now(timezone.utc).date()
        commands = [handlers.GrantConsents(
            professional_id=self.professionals[i % len(self.professionals)], pe_registration_number=f"PE-{i % 50:07d}",
            organisation_id=self.organisation, contact_ids=(self.directory.add_contact(self.organisation),),
            end_date=None if i % 2 else today + timedelta(days=30 + i % 300)) for i in range(n)]
        committed, took = [0] * n, [0] * n
        consent_ids = [""] * n

        def grant(i: int) -> None:
            started = now_ns()
            written = handlers.grant_consents(commands[i], self.deps)
            took[i] = now_ns() - started
            committed[i] = self._committed.at
            consent_ids[i] = written.consents[0].consent_id

        lateness, span = open_loop(n, grant, GRANT_WORKERS)
        arrived = _collect(subscriber, set(consent_ids), _consent_id_of, DRAIN_TIMEOUT_S)
        return {"latencies_ns": [arrived[c] - committed[i] for i, c in enumerate(consent_ids) if c in arrived],
                "lost": sum(c not in arrived for c in consent_ids), "call_ns": took, "lateness_ns": lateness,
                "sent": n, "span_ns": span}

    def close(self) -> None:
        self.relay.stop()
        self._thread.join(timeout=10)
        self.publisher.close()
        self.engine.dispose()
        self._drop()


def _consent_id_of(routing_key: str, body: str):
    if not routing_key.startswith("consent."):
        return None
    return json.loads(body).get("consent_id")


# --- the anchor: pika alone --------------------------------------------------------------------------

class PlainPublisher:
    """pika with publisher confirms, publishing persistent, mandatory messages, as ConfirmingPublisher does."""

    def __init__(self):
        self.connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        declare_topic_exchange(self.channel, ANCHOR_EXCHANGE)
        self._sample = _sample_message()

    def round(self, n: int, subscriber: Subscriber) -> dict:
        run = uuid.uuid4().hex
        sent, took = [0] * n, [0] * n
        headers, data = self._sample

        def publish(i: int) -> None:
            sent[i] = stamp = now_ns()
            body = json.dumps({**data, "run": run, "seq": i, "sent_ns": stamp}, sort_keys=True).encode()
            properties = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent,
                                              content_type="application/json", headers=headers,
                                              message_id=str(uuid.uuid4()))
            self.channel.basic_publish(ANCHOR_EXCHANGE, ANCHOR_KEY, body, properties, mandatory=True)
            took[i] = now_ns() - stamp

        lateness, span = open_loop(n, publish, 1)  # one channel, one publisher thread: pika is not thread-safe

        def seq_of(routing_key: str, body: str):
            if not routing_key.startswith("bench."):
                return None
            message = json.loads(body)
            return message["seq"] if message.get("run") == run else None
        arrived = _collect(subscriber, set(range(n)), seq_of, DRAIN_TIMEOUT_S)
        return {"latencies_ns": [arrived[i] - sent[i] for i in range(n) if i in arrived],
                "lost": n - len(arrived), "call_ns": took, "lateness_ns": lateness, "sent": n, "span_ns": span}

    def close(self) -> None:
        try:
            _delete_exchange(self.channel, ANCHOR_EXCHANGE)
            if CONSENT_EXCHANGE != events.EXCHANGE and not os.environ.get("BENCH_CONSENT_EXCHANGE"):
                _delete_exchange(self.channel, CONSENT_EXCHANGE)  # this run's own
        finally:
            self.connection.close()


def _delete_exchange(channel, name: str) -> None:
    """An exchange of this run's own, with what declare_topic_exchange made beside it."""
    channel.exchange_delete(name)
    channel.exchange_delete(f"{name}.unrouted")
    channel.queue_delete(f"{name}.unrouted")


def _sample_message() -> tuple[dict, dict]:
    """The CloudEvent headers and the data of a real granted event, so both sides' messages weigh the same."""
    from types import SimpleNamespace

    from consent import domain
    consent = domain.grant(professional_id=str(uuid.uuid4()), pe_registration_number="PE-0000042",
                           organisation_id=str(uuid.uuid4()), contact_id=str(uuid.uuid4()),
                           end_date=date(2027, 6, 30), now=datetime.now(timezone.utc))
    outbound = events.outbound(ConsentChanged(consent, ChangeKind.GRANTED, consent.valid_from), 1)
    message = to_message(SimpleNamespace(event_id=outbound.event_id, source=outbound.source, type=outbound.type,
                                         subject=outbound.subject, occurred_at=outbound.occurred_at,
                                         data=json.dumps(outbound.data), routing_key=outbound.routing_key))
    return dict(message.headers), outbound.data


# --- the benchmark -----------------------------------------------------------------------------------

def _figures(parts: list[dict]) -> dict:
    latencies = [x / 1e6 for part in parts for x in part["latencies_ns"]]
    figures = {f"{k}_ms": v for k, v in percentiles(latencies, (50, 99)).items()} if latencies else {}
    if latencies:
        figures["mean_ms"] = sum(latencies) / len(latencies)
        figures["max_ms"] = max(latencies)
    # what the sending side kept up: grants committed (or messages confirmed) a second, 200 asked
    figures["sent_per_s"] = sum(part["sent"] for part in parts) / (sum(part["span_ns"] for part in parts) / 1e9)
    return figures


def _unpinned() -> tuple[set[int] | None, str]:
    """This benchmark runs unpinned, as logins does: its subject is how a service's threads (the
    grant workers and the relay), the broker, the database and a subscriber get along at a given
    rate, not the CPU cost of a call. Pinned to one CPU, the grants and the relay could never run
    at once, which hid how the relay's writes and the grants' contend for SQLite's write lock."""
    usable = usable_cpus() or sorted(os.sched_getaffinity(0))
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(usable))
    return before, f"not pinned: every process anywhere on CPUs {usable}"


@benchmark("consent_events", "grant committed to event at a subscriber (outbox, relay, RabbitMQ) vs plain pika")
def consent_events(quick: bool) -> Comparison:
    sizes = QUICK if quick else FULL
    rounds = sizes["rounds"]
    per_round = int(sizes["seconds_per_side"] / rounds / INTERVAL_S)
    configure_logging("consent", "WARNING")
    admin_url, postgres_note = postgres_admin_url()
    results: dict[str, dict[str, list]] = {}
    details: dict = {"postgres": postgres_note, "by_round": {}, "relay": {}, "cpu_ms_per_message": {}}
    pinned_before, details["placement"] = _unpinned()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-consent-events-") as folder:
            anchor = PlainPublisher()  # declares both sides' exchanges before anyone binds to them
            subscriber = None
            try:
                declare_topic_exchange(anchor.channel, CONSENT_EXCHANGE)
                subscriber = Subscriber(None)
                paths = [("sqlite", lambda: ConsentWritePath("sqlite", f"sqlite:///{folder}/consent.db"))]
                if admin_url:
                    paths.append(("postgresql", lambda: ConsentWritePath(
                        "postgresql", *scratch_postgres(admin_url, "pe_bench_events"))))
                for kind, make in paths:
                    subject = make()
                    try:
                        subject.round(WARMUP, subscriber)  # connections, statement caches, the relay's first pass
                        anchor.round(WARMUP, subscriber)
                        subject.passes.clear()
                        results[kind] = {SUBJECT: [], ANCHOR: []}
                        spent = {SUBJECT: 0.0, ANCHOR: 0.0}
                        for r in range(rounds):
                            order = [(SUBJECT, subject), (ANCHOR, anchor)]
                            if r % 2:
                                order.reverse()
                            row = {"order": [name for name, _ in order]}
                            for name, side in order:
                                started = time.process_time()  # every thread of this process
                                part = side.round(per_round, subscriber)
                                spent[name] += time.process_time() - started
                                results[kind][name].append(part)
                                figures = _figures([part])
                                row[f"{name}_p50_ms"] = figures.get("p50_ms")
                                row[f"{name}_sent_per_s"] = figures["sent_per_s"]
                            details["by_round"].setdefault(kind, []).append(row)
                        details["cpu_ms_per_message"][kind] = {
                            name: 1e3 * spent[name] / (per_round * rounds) for name in (SUBJECT, ANCHOR)}
                        published = sum(n for n, _ in subject.passes)
                        details["relay"][kind] = {
                            "passes_that_published": len(subject.passes),
                            "events_per_pass": published / max(1, len(subject.passes)),
                            "ms_per_event": sum(ns for _, ns in subject.passes) / 1e6 / max(1, published)}
                    finally:
                        subject.close()
            finally:
                if subscriber is not None:
                    subscriber.stop()
                anchor.close()
    finally:
        os.sched_setaffinity(0, pinned_before)

    prefix = {"sqlite": "", "postgresql": "pg_"}
    sides = {SUBJECT: {}, ANCHOR: {}}
    details["calls"], details["late_start"], details["lost"] = {}, {}, {}
    for kind, by_side in results.items():
        for name, parts in by_side.items():
            sides[name].update({prefix[kind] + k: v for k, v in _figures(parts).items()})
            label = f"{kind}.{name}"
            calls = [x / 1e6 for part in parts for x in part["call_ns"]]
            late = [x / 1e6 for part in parts for x in part["lateness_ns"]]
            details["calls"][label] = {f"{k}_ms": v for k, v in percentiles(calls, (50, 99)).items()}
            details["late_start"][label] = {f"{k}_ms": v for k, v in percentiles(late, (50, 99)).items()}
            details["lost"][label] = sum(part["lost"] for part in parts)
    return Comparison(
        subject=Side(SUBJECT, sides[SUBJECT]), anchor=Side(ANCHOR, sides[ANCHOR]),
        headline="p50_ms",
        parameters={"rate_per_s": round(1 / INTERVAL_S), "seconds_per_side": per_round * rounds * INTERVAL_S,
                    "rounds": rounds, "messages_per_side": per_round * rounds, "warmup": WARMUP,
                    "grant_workers": GRANT_WORKERS, "relay_poll_s": 0.2,
                    "relay_wake": "on_events=relay.wake, as bootstrap wires it", "databases": list(results),
                    "consent_exchange": CONSENT_EXCHANGE, "anchor_exchange": ANCHOR_EXCHANGE,
                    "broker": AMQP_URL.rsplit("@", 1)[-1], "pika": pika.__version__},
        details=details,
        notes=[
            "outbox: from the grant's commit (stamped in the on_events hook, right after it) to the event's "
            "arrival at the subscriber; pika: from just before basic_publish to the message's arrival.",
            "Figures without a prefix: SQLite (file, WAL); pg_: PostgreSQL, each database with rounds of both "
            "sides. sent_per_s: grants committed (outbox) or messages confirmed (pika) a second; 200 were asked.",
            "details.calls: a grant call (outbox) or a publish waiting for its confirm (pika); details.late_start: "
            "how late each started against the 5 ms schedule; details.relay: the relay's passes that published.",
            "details.cpu_ms_per_message: CPU time of this process per grant (grant workers, relay, scheduler) or "
            "per message (publisher, scheduler); under one interpreter lock, 1000 / it is about the most a second.",
            "The consent exchange is this run's own (declared as pe.consent is) unless BENCH_CONSENT_EXCHANGE "
            "names one; nothing else is bound to it, as nothing else is to the anchor's.",
            "No target is set in the issue: the figures are reported only.",
        ],
    )
