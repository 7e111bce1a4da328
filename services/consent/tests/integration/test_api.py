"""The consent API over gRPC, on a real database, asking fake organisation and identity services
over gRPC too: the request id travels on, errors carry their details, and the event log's
positions become visible in order while writers race."""
import threading
from datetime import timedelta

import grpc
import pytest

from pe.common.v1 import common_pb2
from pe.consent.v1 import consent_pb2 as pb
from svckit import rpc_errors

from consent.clients import GrpcAccountDirectory, GrpcOrganisationDirectory


pytestmark = pytest.mark.integration


@pytest.fixture
def world(directory):
    organisation = directory.add_organisation("De Brug")
    return type("World", (), dict(organisation=organisation,
                                  contacts=[directory.add_contact(organisation) for _ in range(3)],
                                  professional=directory.add_account()))


def _grant(api, world, contacts=None, professional=None, metadata=None, **fields):
    return api.GrantConsents(pb.GrantConsentsRequest(
        professional_id=professional or world.professional, pe_registration_number="PE-1",
        organisation_id=world.organisation, contact_ids=contacts or world.contacts, **fields), timeout=10,
        metadata=metadata)


def test_grant_check_revoke_over_grpc(consent_api, world, clock):
    granted = _grant(consent_api, world, end_date=common_pb2.Date(year=2027, month=10, day=31))
    assert len(granted.consents) == 3 and granted.log_position == 3
    first = granted.consents[0]
    check = consent_api.CheckAccess(pb.CheckAccessRequest(contact_id=world.contacts[0],
                                                          professional_id=world.professional), timeout=5)
    assert check.allowed and check.consent.consent_id == first.consent_id
    revoked = consent_api.RevokeConsent(pb.RevokeConsentRequest(consent_id=first.consent_id,
                                                                professional_id=world.professional), timeout=5)
    assert revoked.log_position == 4
    check = consent_api.CheckAccess(pb.CheckAccessRequest(contact_id=world.contacts[0],
                                                          professional_id=world.professional), timeout=5)
    assert not check.allowed and not check.HasField("consent")
    listed = consent_api.ListConsents(pb.ListConsentsRequest(professional_id=world.professional), timeout=5)
    assert len(listed.consents) == 2
    listed = consent_api.ListConsents(pb.ListConsentsRequest(professional_id=world.professional,
                                                             include_ended=True), timeout=5)
    assert len(listed.consents) == 3
    contact = consent_api.ListContactProfessionals(pb.ListContactProfessionalsRequest(contact_id=world.contacts[1]),
                                                   timeout=5)
    assert [c.professional_id for c in contact.consents] == [world.professional]


def test_access_ends_at_the_end_date_across_daylight_saving(consent_api, world, clock):
    _grant(consent_api, world, contacts=world.contacts[:1], end_date=common_pb2.Date(year=2027, month=3, day=28))
    request = pb.CheckAccessRequest(contact_id=world.contacts[0], professional_id=world.professional)
    clock.set(clock.now().replace(year=2027, month=3, day=28, hour=21, minute=59, second=59, microsecond=999999))
    assert consent_api.CheckAccess(request, timeout=5).allowed      # 23:59:59.999999 CEST
    clock.advance(timedelta(microseconds=1))
    assert not consent_api.CheckAccess(request, timeout=5).allowed  # midnight


def test_request_id_travels_to_organisation_and_identity(consent_api, world, others):
    _grant(consent_api, world, metadata=(("x-request-id", "req-abc-123"),))
    seen = [m.get("x-request-id") for m in others.organisation.metadata + others.identity.metadata]
    assert seen and set(seen) == {"req-abc-123"}


def test_the_latest_end_date_is_stored_and_checked_and_a_later_one_is_refused(consent_api, world):
    granted = _grant(consent_api, world, contacts=world.contacts[:1],
                     end_date=common_pb2.Date(year=9999, month=12, day=30))
    assert granted.consents[0].end_date.year == 9999
    assert consent_api.CheckAccess(pb.CheckAccessRequest(contact_id=world.contacts[0],
                                                         professional_id=world.professional), timeout=5).allowed
    too_late = common_pb2.Date(year=9999, month=12, day=31)
    with pytest.raises(grpc.RpcError) as refused:
        _grant(consent_api, world, contacts=world.contacts[1:2], end_date=too_late)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(rpc_errors.field_violations(refused.value)) == ["end_date"]
    with pytest.raises(grpc.RpcError) as refused:
        consent_api.ChangeConsentEndDate(pb.ChangeConsentEndDateRequest(
            consent_id=granted.consents[0].consent_id, professional_id=world.professional, end_date=too_late),
            timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(rpc_errors.field_violations(refused.value)) == ["end_date"]


def test_refusals_carry_their_details_over_the_wire(consent_api, world, directory):
    stranger = directory.add_contact(directory.add_organisation("Ander"))
    with pytest.raises(grpc.RpcError) as refused:
        _grant(consent_api, world, contacts=[world.contacts[0], stranger])
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(rpc_errors.field_violations(refused.value)) == ["contact_ids[1]"]
    directory.set_authorised(world.organisation, False)
    with pytest.raises(grpc.RpcError) as refused:
        _grant(consent_api, world)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert rpc_errors.error_reason(refused.value) == "ORGANISATION_NOT_AUTHORISED"


def test_organisation_down_is_unavailable_and_grants_nothing(consent_api, world, deps, port_factory):
    deps.organisations = GrpcOrganisationDirectory(grpc.insecure_channel(f"127.0.0.1:{port_factory()}"), timeout=1)
    with pytest.raises(grpc.RpcError) as refused:
        _grant(consent_api, world)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert rpc_errors.error_reason(refused.value) == "DEPENDENCY_UNAVAILABLE"
    events = consent_api.ListConsentEvents(pb.ListConsentEventsRequest(), timeout=5)
    assert events.head_position == 0


def test_an_unknown_organisation_looks_not_authorised(consent_api, world, directory):
    directory.organisations.clear()
    with pytest.raises(grpc.RpcError) as refused:
        _grant(consent_api, world)
    assert rpc_errors.error_reason(refused.value) == "ORGANISATION_NOT_AUTHORISED"


def test_a_revocation_does_not_wait_for_identity(consent_api, world, directory, deps, port_factory):
    consent = _grant(consent_api, world, contacts=world.contacts[:1]).consents[0]
    deps.accounts = GrpcAccountDirectory(grpc.insecure_channel(f"127.0.0.1:{port_factory()}"), timeout=1)
    revoked = consent_api.RevokeConsent(pb.RevokeConsentRequest(consent_id=consent.consent_id,
                                                                professional_id=world.professional), timeout=10)
    assert revoked.consent.state == pb.CONSENT_STATE_REVOKED
    with pytest.raises(grpc.RpcError) as refused:
        _grant(consent_api, world, contacts=world.contacts[1:2])
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_positions_become_visible_in_order_while_writers_race(consent_api, world, directory):
    professionals = [directory.add_account() for _ in range(6)]
    stop, problems = threading.Event(), []

    def write(professional):
        try:
            for contact in world.contacts:
                consent = _grant(consent_api, world, contacts=[contact], professional=professional).consents[0]
                consent_api.RevokeConsent(pb.RevokeConsentRequest(consent_id=consent.consent_id,
                                                                  professional_id=professional), timeout=20)
        except Exception as error:  # reported below, in the test's thread
            problems.append(error)

    def read():
        seen = 0
        while not stop.is_set():
            events = consent_api.ListConsentEvents(pb.ListConsentEventsRequest(after_position=seen), timeout=10)
            positions = [e.position for e in events.events]
            if positions != list(range(seen + 1, seen + 1 + len(positions))):
                problems.append(AssertionError(f"after {seen} read {positions}"))
                return
            seen += len(positions)

    writers = [threading.Thread(target=write, args=(p,)) for p in professionals]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(120)
    stop.set()
    reader.join(30)
    assert problems == []
    events = consent_api.ListConsentEvents(pb.ListConsentEventsRequest(page_size=1000), timeout=10)
    assert events.head_position == 36 and [e.position for e in events.events] == list(range(1, 37))
    assert [e.position for e in consent_api.ListConsentEvents(
        pb.ListConsentEventsRequest(after_position=30, page_size=3), timeout=10).events] == [31, 32, 33]


def test_idempotency_key_over_grpc(consent_api, world):
    first = _grant(consent_api, world, idempotency_key="abc")
    again = _grant(consent_api, world, idempotency_key="abc")
    assert [c.consent_id for c in again.consents] == [c.consent_id for c in first.consents]
    assert again.log_position == first.log_position


def test_the_access_check_survives_the_database_dropping_its_connection(engine, deps, directory, world):
    if engine.dialect.name != "postgresql":
        pytest.skip("dropping a server connection is a PostgreSQL matter")
    from sqlalchemy import text
    from consent import handlers
    from consent.repository import ConsentStore
    store = ConsentStore(engine)
    granted = handlers.grant_consents(handlers.GrantConsents(world.professional, "PE", world.organisation,
                                                             (world.contacts[0],), None), deps).consents[0]
    now = deps.clock.now()
    assert store.check_access(world.contacts[0], world.professional, now).consent_id == granted.consent_id
    with engine.connect() as connection:  # the server ends every other session, the pooled one too
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    assert store.check_access(world.contacts[0], world.professional, now).consent_id == granted.consent_id
    store.close()


def _grant_one(world, deps):
    from consent import handlers
    return handlers.grant_consents(handlers.GrantConsents(world.professional, "PE", world.organisation,
                                                          (world.contacts[0],), None), deps).consents[0]


def test_a_thread_that_keeps_its_connection_sees_a_revocation_on_its_very_next_check(deps, world):
    from concurrent.futures import ThreadPoolExecutor
    from consent import handlers
    granted = _grant_one(world, deps)
    with ThreadPoolExecutor(1) as serving_thread:  # one thread, so one and the same connection
        def check():
            return serving_thread.submit(handlers.check_access, world.contacts[0], world.professional, deps).result()
        assert check().consent_id == granted.consent_id
        handlers.revoke_consent(handlers.RevokeConsent(granted.consent_id, world.professional), deps)
        assert check() is None
        again = _grant_one(world, deps)
        assert check().consent_id == again.consent_id


def test_the_access_check_answers_the_consent_as_stored(deps, world, clock):
    from datetime import date
    from consent import handlers
    clock.set(clock.now().replace(microsecond=123456))  # the check must keep every digit of valid_from
    open_ended, ending = handlers.grant_consents(handlers.GrantConsents(
        world.professional, "PE-7", world.organisation, tuple(world.contacts[:1]), None), deps).consents + \
        handlers.grant_consents(handlers.GrantConsents(
            world.professional, "PE-7", world.organisation, tuple(world.contacts[1:2]), date(2027, 10, 31)),
            deps).consents
    with deps.store.reading() as reader:
        stored = [reader.get(open_ended.consent_id), reader.get(ending.consent_id)]
    checked = [deps.store.check_access(c.contact_id, world.professional, clock.now()) for c in stored]
    assert checked == stored
    assert stored[0].valid_from.microsecond == 123456 and stored[1].end_date == date(2027, 10, 31)
    assert deps.store.check_access(world.contacts[2], world.professional, clock.now()) is None


def _eventually(condition, timeout=10.0):
    import time
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


def test_the_access_check_holds_one_connection_per_serving_thread_while_it_lives(engine, deps, world):
    if engine.dialect.name != "postgresql":
        pytest.skip("counting server sessions is a PostgreSQL matter")
    from concurrent.futures import ThreadPoolExecutor
    from sqlalchemy import text
    from consent.repository import ConsentStore

    def sessions():
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                                           )).scalar_one()
    _grant_one(world, deps)
    engine.dispose()  # the main pool's idle connections would blur the count
    before = sessions()
    store = ConsentStore(engine)
    barrier = threading.Barrier(3)

    def check(_):
        barrier.wait()  # all three at once, so each thread makes its own checks
        for _ in range(5):
            assert store.check_access(world.contacts[0], world.professional, deps.clock.now())
    with ThreadPoolExecutor(3) as threads:
        list(threads.map(check, range(3)))
        engine.dispose()
        assert sessions() == before + 3  # fifteen checks, three connections
        store.close()
        _eventually(lambda: sessions() == before)

    lone = threading.Thread(target=check, args=(0,))  # a thread that ends gives its connection back
    barrier = threading.Barrier(1)
    lone.start()
    lone.join()
    _eventually(lambda: sessions() == before)


def test_on_sqlite_the_access_check_reads_through_mapped_pages_and_cannot_write(tmp_path):
    from consent.access_check import SQLITE_MMAP_BYTES, access_engine
    from consent_testkit import migrated_engine
    # SQLite's own settings, whatever database the run uses
    engine = migrated_engine(f"sqlite:///{tmp_path / 'consent.db'}")
    access = access_engine(engine)
    connection = access.raw_connection()
    try:
        cursor = connection.cursor()
        assert cursor.execute("PRAGMA query_only").fetchone() == (1,)
        assert cursor.execute("PRAGMA mmap_size").fetchone() == (SQLITE_MMAP_BYTES,)
        with pytest.raises(Exception, match="readonly"):
            cursor.execute("DELETE FROM consents")
    finally:
        connection.close()
        access.dispose()
        engine.dispose()


def test_the_access_check_reads_one_index_and_never_the_table(engine):
    from consent.repository import ConsentStore
    from consent_testkit import START, access_check_plan_reads_only_its_index, store_many_consents
    rows = store_many_consents(engine, 2000)
    store = ConsentStore(engine)

    plan = store.access_plan(rows[10]["contact_id"], rows[10]["professional_id"], START)

    assert access_check_plan_reads_only_its_index(plan, engine.dialect.name), plan
    assert store.check_access(rows[10]["contact_id"], rows[10]["professional_id"], START).consent_id == \
        rows[10]["consent_id"]
    assert store.check_access(rows[11]["contact_id"], rows[11]["professional_id"], START) is None  # revoked
    store.close()


def test_batch_check_answers_the_allowed_professionals_with_their_consents_in_the_order_asked(
        consent_api, world, directory, clock):
    others = [directory.add_account() for _ in range(4)]
    granted = {}
    for professional in others[:3]:
        granted[professional] = _grant(consent_api, world, contacts=world.contacts[:1], professional=professional,
                                       end_date=common_pb2.Date(year=2027, month=3, day=28)).consents[0]
    revoked = granted.pop(others[1])
    consent_api.RevokeConsent(pb.RevokeConsentRequest(consent_id=revoked.consent_id, professional_id=others[1]),
                              timeout=5)
    _grant(consent_api, world, contacts=world.contacts[1:2], professional=others[3])  # another contact only
    asked = [others[2], others[3], others[1], others[0], others[2]]
    request = pb.BatchCheckAccessRequest(contact_id=world.contacts[0], professional_ids=asked)

    answer = consent_api.BatchCheckAccess(request, timeout=5)
    assert [(c.professional_id, c.consent_id) for c in answer.consents] == [
        (others[2], granted[others[2]].consent_id), (others[0], granted[others[0]].consent_id)]
    assert all(c.state == pb.CONSENT_STATE_ACTIVE and c.contact_id == world.contacts[0] for c in answer.consents)
    for professional in asked:  # the same answer as one check at a time
        single = consent_api.CheckAccess(pb.CheckAccessRequest(contact_id=world.contacts[0],
                                                               professional_id=professional), timeout=5)
        assert single.allowed == (professional in granted)

    clock.set(clock.now().replace(year=2027, month=3, day=28, hour=22, minute=0, second=0, microsecond=0))
    assert consent_api.BatchCheckAccess(request, timeout=5).consents == []  # past the end date (Amsterdam)


def test_batch_check_is_bounded_and_names_the_fields_at_fault(consent_api, world):
    for count in (0, 201):
        with pytest.raises(grpc.RpcError) as caught:
            consent_api.BatchCheckAccess(pb.BatchCheckAccessRequest(
                contact_id=world.contacts[0], professional_ids=[world.professional] * count), timeout=5)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert rpc_errors.field_violations(caught.value) == {
            "professional_ids": "must name 1 to 200 professionals"}
    with pytest.raises(grpc.RpcError) as caught:
        consent_api.BatchCheckAccess(pb.BatchCheckAccessRequest(
            contact_id="nope", professional_ids=[world.professional, "x"]), timeout=5)
    assert set(rpc_errors.field_violations(caught.value)) == {"contact_id", "professional_ids[1]"}
    full = consent_api.BatchCheckAccess(pb.BatchCheckAccessRequest(
        contact_id=world.contacts[0], professional_ids=[world.professional] * 200), timeout=5)
    assert full.consents == []
