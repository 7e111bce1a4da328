"""Clients that keep the API busy while a fault is made, as users would: each professional grants a
contact access, the contact reads the dossier, the professional changes the end date and revokes,
over and over. Every operation must end in its expected answer; a 503 or 429 (problem+json, with
Retry-After), or the gateway's 504 problem+json (a service did not answer within its deadline; "try
again"), is the clean "try again" a client may get during a fault and is retried with the same
request (grants with the same Idempotency-Key; an end date set twice is the same; a revocation whose
retry finds it revoked is done); anything else (a 500, a 502, a dropped connection) is a failure,
counted and described. The retryable answers are counted by status.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import requests

from support.api import Person

RETRYABLE = {429, 503, 504}
GIVE_UP_SECONDS = 120.0
CONVERGE_SECONDS = 120.0


@dataclass
class Tally:
    done: Counter = field(default_factory=Counter)      # operation: how many ended as expected
    retried: Counter = field(default_factory=Counter)   # (operation, status): retryable answers seen
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, counter: str, key) -> None:
        with self.lock:
            getattr(self, counter)[key] += 1

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what)

    def summary(self) -> str:
        done = ", ".join(f"{name} {count}" for name, count in sorted(self.done.items()))
        retried = ", ".join(f"{name} {status}: {count}" for (name, status), count in sorted(self.retried.items()))
        return f"done: {done}; retryable answers: {retried or 'none'}; failures: {len(self.failures)}"


class Client(threading.Thread):
    """One professional's grants, changes and revocations, and their contact's dossier reads."""

    def __init__(self, professional: Person, contact: Person, organisation_id: str, tally: Tally,
                 stop: threading.Event, *, grants: int | None = None, full: bool = True):
        super().__init__(name=f"client-{professional.username}", daemon=True)
        self.professional, self.contact, self.organisation_id = professional, contact, organisation_id
        self.tally, self.stop, self.grants, self.full = tally, stop, grants, full
        self.granted: list[str] = []   # consent ids, in order

    def operation(self, name: str, send, expected: set[int]) -> requests.Response | None:
        deadline = time.monotonic() + GIVE_UP_SECONDS
        retried = False
        while True:
            try:
                answer = send()
            except requests.RequestException as error:
                self.tally.fail(f"{name}: no answer: {error!r}")
                return None
            status = answer.status_code
            if status in expected or (retried and name == "revoke" and status == 409):
                # 409 after a retry: the attempt that answered 503 had revoked it already.
                self.tally.add("done", name)
                return answer
            if status in RETRYABLE and answer.headers.get("Content-Type", "").startswith("application/problem+json"):
                self.tally.add("retried", (name, status))
                if time.monotonic() > deadline:
                    self.tally.fail(f"{name}: still {status} after {GIVE_UP_SECONDS:.0f} s")
                    return None
                retried = True
                time.sleep(min(float(answer.headers.get("Retry-After", "1") or 1), 2.0))
                continue
            self.tally.fail(f"{name}: {status} {answer.text[:300]}")
            return None

    def cycle(self, number: int) -> None:
        pro, contact = self.professional, self.contact
        key = str(uuid.uuid4())
        granted = self.operation("grant", lambda: pro.api.post(
            "/consents", json={"organisation_id": self.organisation_id, "contact_ids": [contact.contact_id]},
            headers={"Idempotency-Key": key}), {201})
        if granted is None:
            return
        consent_id = granted.json()["consents"][0]["consent_id"]
        self.granted.append(consent_id)
        if self.full:   # otherwise grants and revocations only, as many as can be
            read = lambda: contact.api.get(f"/dossiers/{pro.account_id}")  # noqa: E731
            self.operation("read", read, {200, 404})
            until = (date.today() + timedelta(days=30 + number % 300)).isoformat()
            self.operation("change", lambda: pro.api.patch(f"/consents/{consent_id}", json={"end_date": until}),
                           {200})
            self.operation("read", read, {200, 404})
        self.operation("revoke", lambda: pro.api.post(f"/consents/{consent_id}/revoke"), {200})

    def run(self) -> None:
        number = 0
        while not self.stop.is_set() and (self.grants is None or number < self.grants):
            self.cycle(number)
            number += 1


class Load:
    """Clients for the professionals, all reading through the one contact, started and stopped together."""

    def __init__(self, professionals: list[Person], contact: Person, organisation_id: str, *,
                 grants_each: int | None = None, full: bool = True):
        self.tally, self.stop_event = Tally(), threading.Event()
        self.clients = [Client(p, contact, organisation_id, self.tally, self.stop_event, grants=grants_each, full=full)
                        for p in professionals]
        self.started = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Load:
        self.started = time.monotonic()
        for client in self.clients:
            client.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop_event.set()
        self.join()

    def join(self, timeout: float = 600) -> None:
        for client in self.clients:
            client.join(timeout)
        self.seconds = time.monotonic() - self.started

    @property
    def consent_ids(self) -> list[str]:
        return [consent_id for client in self.clients for consent_id in client.granted]

    def report(self, title: str) -> str:
        rate = sum(self.tally.done.values()) / self.seconds if self.seconds else 0.0
        return f"{title}: {len(self.clients)} clients, {self.seconds:.0f} s, {rate:.1f} ops/s; {self.tally.summary()}"


def load(world, **options) -> Load:
    organisation_id, contact, professionals = world
    return Load(professionals, contact, organisation_id, **options)


def _in(ids: list[str]) -> str:
    return ",".join(f"'{consent_id}'" for consent_id in ids)


def consents_in(stack, database: str, ids: list[str]) -> list[tuple[str, ...]]:
    return stack.sql(database, "SELECT consent_id, state, coalesce(end_date::text, '-'), sequence FROM consents "
                               f"WHERE consent_id IN ({_in(ids)}) ORDER BY consent_id")


def converged(stack, ids: list[str]) -> float:
    """Waits until reporting's read model holds every consent as consent does, and consent's outbox
    has published every event; the seconds it took."""
    started = time.monotonic()
    while True:
        source, model = consents_in(stack, "consent", ids), consents_in(stack, "reporting", ids)
        unpublished = int(stack.sql("consent", "SELECT count(*) FROM event_outbox WHERE published_at IS NULL")[0][0])
        if len(source) == len(ids) and source == model and unpublished == 0:
            return time.monotonic() - started
        if time.monotonic() - started > CONVERGE_SECONDS:
            differ = sorted(set(source) ^ set(model))[:10]
            raise AssertionError(f"reporting has not converged with consent in {CONVERGE_SECONDS} s: "
                                 f"{len(source)} consents in consent, {len(model)} in reporting, {unpublished} events "
                                 f"unpublished; differing rows: {differ}")
        time.sleep(1)


def check(stack, run: Load, title: str) -> None:
    ids = run.consent_ids
    print(f"\n{run.report(title)}")
    assert not run.tally.failures, run.tally.failures[:20]
    assert ids and run.tally.done["grant"] == len(ids)
    seconds = converged(stack, ids)
    print(f"  {len(ids)} consents granted; reporting's read model equal to consent's {seconds:.1f} s after the load")
