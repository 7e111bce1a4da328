"""Random sequences of grants, end-date changes, revocations, contact removals, suspensions and
clock moves, run against the real handlers on an in-memory database. After every step the access
check, the lists and the event log must agree with a model simple enough to be obviously right.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from consent import handlers
from consent.domain import (AMSTERDAM, ConsentNotActive, ConsentNotFound, EndDateInPast, NotContactsOf,
                            OrganisationNotAuthorised)
from consent_testkit import START, Directory, ManualClock, make_deps, memory_engine, new_id


@dataclass
class ModelConsent:
    consent_id: str
    professional: str
    contact: str
    organisation: str
    end_date: date | None
    state: str = "active"
    sequence: int = 1


# End dates near today are where the rules are sharp: weigh them heavily.
OFFSETS = st.one_of(st.none(), st.sampled_from([-1, 0, 0, 1, 3]), st.integers(-2, 40))


def local_date(moment: datetime) -> date:
    return moment.astimezone(AMSTERDAM).date()


class ConsentMachine(RuleBasedStateMachine):
    @initialize()
    def world(self):
        self.directory = Directory()
        self.organisations = [self.directory.add_organisation(f"Org {i}") for i in range(2)]
        self.contacts = {org: [self.directory.add_contact(org) for _ in range(3)] for org in self.organisations}
        self.all_contacts = [c for org in self.organisations for c in self.contacts[org]]
        self.professionals = [self.directory.add_account(f"P{i}") for i in range(2)]
        self.clock = ManualClock(START)
        self.deps = make_deps(memory_engine(), self.directory, self.clock, reminder_days=3)
        self.consents: dict[str, ModelConsent] = {}
        self.removed: set[str] = set()
        self.suspended: set[str] = set()
        self.handled_events: list[tuple[str, str, str]] = []

    # --- the model ---------------------------------------------------------------------------------

    def today(self) -> date:
        return local_date(self.clock.now())

    def valid(self, model: ModelConsent) -> bool:
        return model.state == "active" and (model.end_date is None or self.today() <= model.end_date)

    def close(self, model: ModelConsent, state: str) -> None:
        """A consent marked active whose date has passed expires rather than whatever ends it."""
        model.state = "expired" if (model.state == "active" and not self.valid(model)) else state
        model.sequence += 1

    def end_date(self, offset: int | None) -> date | None:
        return None if offset is None else self.today() + timedelta(days=offset)

    # --- rules -------------------------------------------------------------------------------------

    @rule(professional=st.integers(0, 1), organisation=st.integers(0, 1),
          picks=st.lists(st.integers(0, 2), min_size=1, max_size=3),
          stranger=st.booleans(), offset=OFFSETS)
    def grant(self, professional, organisation, picks, stranger, offset):
        professional, organisation = self.professionals[professional], self.organisations[organisation]
        contacts = [self.contacts[organisation][i] for i in picks]
        if stranger:
            contacts.append(self.contacts[self.organisations[1 - self.organisations.index(organisation)]][0])
        end_date = self.end_date(offset)
        command = handlers.GrantConsents(professional, "PE-1", organisation, tuple(contacts), end_date)
        try:
            written = handlers.grant_consents(command, self.deps)
        except EndDateInPast:
            assert end_date < self.today()
            return
        except OrganisationNotAuthorised:
            assert end_date is None or end_date >= self.today()
            assert organisation in self.suspended
            return
        except NotContactsOf as refused:
            assert organisation not in self.suspended
            assert refused.positions == [i for i, c in enumerate(contacts)
                                         if c in self.removed or c not in self.contacts[organisation]]
            return
        assert (end_date is None or end_date >= self.today()) and organisation not in self.suspended
        assert not stranger and not set(contacts) & self.removed
        answered = {c.contact_id: c.consent_id for c in written.consents}
        assert list(answered) == list(dict.fromkeys(contacts))
        for contact in dict.fromkeys(contacts):
            held = [m for m in self.consents.values()
                    if m.professional == professional and m.contact == contact and self.valid(m)]
            if held:
                assert answered[contact] == held[0].consent_id
                continue
            for stale in [m for m in self.consents.values() if m.professional == professional
                          and m.contact == contact and m.state == "active"]:
                self.close(stale, "expired")
            assert answered[contact] not in self.consents
            self.consents[answered[contact]] = ModelConsent(answered[contact], professional, contact, organisation,
                                                            end_date)
        assert written.log_position == self.head()

    def _pick(self, data, owner: bool):
        model = data.draw(st.sampled_from(list(self.consents.values())))  # creation order: reproducible
        caller = model.professional if owner else new_id()
        return model, caller

    @precondition(lambda self: self.consents)
    @rule(data=st.data(), owner=st.booleans(), offset=OFFSETS)
    def change_end_date(self, data, owner, offset):
        model, caller = self._pick(data, owner)
        end_date = self.end_date(offset)
        try:
            written = handlers.change_end_date(handlers.ChangeEndDate(model.consent_id, caller, end_date), self.deps)
        except ConsentNotFound:
            assert not owner
            return
        except ConsentNotActive:
            assert owner and not self.valid(model)
            return
        except EndDateInPast:
            assert owner and self.valid(model) and end_date < self.today()
            return
        assert owner and self.valid(model)
        if model.end_date != end_date:
            model.end_date, model.sequence = end_date, model.sequence + 1
        assert written.consents[0].sequence == model.sequence

    @precondition(lambda self: self.consents)
    @rule(data=st.data(), owner=st.booleans())
    def revoke(self, data, owner):
        model, caller = self._pick(data, owner)
        try:
            handlers.revoke_consent(handlers.RevokeConsent(model.consent_id, caller), self.deps)
        except ConsentNotFound:
            assert not owner
            return
        except ConsentNotActive:
            assert owner and not self.valid(model)
            return
        assert owner and self.valid(model)
        self.close(model, "revoked")

    @rule(index=st.integers(0, 5))
    def remove_contact(self, index):
        contact = self.all_contacts[index]
        event_id = new_id()
        self.directory.remove_contact(contact)
        handlers.end_for_removed_contact(handlers.IncomingEvent(event_id, "removed"), contact, self.deps)
        self.removed.add(contact)
        for model in self.consents.values():
            if model.contact == contact and model.state == "active":
                self.close(model, "ended")
        self.handled_events.append(("contact", event_id, contact))

    @rule(index=st.integers(0, 1))
    def suspend_organisation(self, index):
        organisation = self.organisations[index]
        event_id = new_id()
        self.directory.set_authorised(organisation, False)
        handlers.end_for_suspended_organisation(handlers.IncomingEvent(event_id, "suspended"), organisation,
                                                self.deps)
        self.suspended.add(organisation)
        for model in self.consents.values():
            if model.organisation == organisation and model.state == "active":
                self.close(model, "ended")
        self.handled_events.append(("organisation", event_id, organisation))

    @precondition(lambda self: self.suspended)
    @rule(data=st.data())
    def authorise_again(self, data):
        organisation = data.draw(st.sampled_from([o for o in self.organisations if o in self.suspended]))
        self.directory.set_authorised(organisation, True)
        self.suspended.discard(organisation)

    @precondition(lambda self: self.handled_events)
    @rule(data=st.data())
    def redeliver_an_event(self, data):
        kind, event_id, target = data.draw(st.sampled_from(self.handled_events))
        incoming = handlers.IncomingEvent(event_id, kind)
        if kind == "contact":
            assert handlers.end_for_removed_contact(incoming, target, self.deps) == 0
        else:
            assert handlers.end_for_suspended_organisation(incoming, target, self.deps) == 0

    @rule(step=st.sampled_from(["minute", "hour", "day", "week", "to_last_instant", "to_midnight", "to_midnight"]))
    def move_clock(self, step):
        now = self.clock.now()
        if step in ("to_last_instant", "to_midnight"):
            local = now.astimezone(AMSTERDAM)
            midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=AMSTERDAM)
            target = midnight - timedelta(microseconds=1) if step == "to_last_instant" else midnight
            if target > now:
                self.clock.set(target.astimezone(START.tzinfo))
            return
        self.clock.advance({"minute": timedelta(minutes=1), "hour": timedelta(hours=1),
                            "day": timedelta(days=1), "week": timedelta(days=7)}[step])

    @rule()
    def run_expiry_job(self):
        handlers.expire_lapsed(self.deps)
        for model in self.consents.values():
            if model.state == "active" and not self.valid(model):
                model.state, model.sequence = "expired", model.sequence + 1

    @rule()
    def run_reminders(self):
        handlers.send_reminders(self.deps)

    # --- what must hold after every step ---------------------------------------------------------

    def head(self) -> int:
        return handlers.list_events(0, 1, self.deps)[1]

    def _all_pages(self, fetch) -> list[str]:
        found, after = [], None
        while True:
            page = fetch(after)
            found += [c.consent_id for c in page.consents]
            if not page.more:
                return found
            after = handlers.PageKey(page.consents[-1].valid_from, page.consents[-1].consent_id)

    @invariant()
    def access_check_agrees(self):
        if not hasattr(self, "deps"):
            return
        for professional in self.professionals:
            for contact in self.all_contacts:
                expected = [m.consent_id for m in self.consents.values()
                            if m.professional == professional and m.contact == contact and self.valid(m)]
                assert len(expected) <= 1
                found = handlers.check_access(contact, professional, self.deps)
                assert (found.consent_id if found else None) == (expected[0] if expected else None)

    @invariant()
    def lists_agree(self):
        if not hasattr(self, "deps"):
            return
        deps = self.deps
        for professional in self.professionals:
            valid = sorted(m.consent_id for m in self.consents.values()
                           if m.professional == professional and self.valid(m))
            every = sorted(m.consent_id for m in self.consents.values() if m.professional == professional)
            assert sorted(self._all_pages(lambda a: handlers.list_consents(professional, False, a, 2, deps))) == valid
            assert sorted(self._all_pages(lambda a: handlers.list_consents(professional, True, a, 2, deps))) == every
        for contact in self.all_contacts:
            valid = sorted(m.consent_id for m in self.consents.values() if m.contact == contact and self.valid(m))
            assert sorted(self._all_pages(lambda a: handlers.list_contact_professionals(contact, a, 2, deps))) == valid
        for organisation in self.organisations:
            valid = sorted(m.consent_id for m in self.consents.values()
                           if m.organisation == organisation and self.valid(m))
            assert sorted(self._all_pages(
                lambda a: handlers.list_organisation_professionals(organisation, a, 2, deps))) == valid

    @invariant()
    def stored_consents_and_event_log_agree(self):
        if not hasattr(self, "deps"):
            return
        events, head = handlers.list_events(0, 1000, self.deps)
        assert [e.position for e in events] == list(range(1, head + 1))
        assert all(e.data["position"] == e.position for e in events)
        sequences: dict[str, list[int]] = {}
        for event in events:
            sequences.setdefault(event.data["consent_id"], []).append(event.data["sequence"])
        for model in self.consents.values():
            stored = handlers.get_consent(model.consent_id, self.deps)
            assert (stored.state.value, stored.end_date, stored.sequence) == (model.state, model.end_date,
                                                                               model.sequence)
            assert sequences[model.consent_id] == list(range(1, model.sequence + 1))
        history = []
        for professional in self.professionals:
            history += handlers.list_history(professional, 0, 1000, self.deps)[0]
        assert len(history) == head


TestConsentMachine = ConsentMachine.TestCase
TestConsentMachine.settings = settings(max_examples=40, stateful_step_count=25, deadline=None, database=None,
                                       suppress_health_check=[HealthCheck.too_slow])
