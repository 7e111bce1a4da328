"""The access check's statement, on SQLite: one index, never the table."""
from consent.repository import ConsentStore
from consent_testkit import START, access_check_plan_reads_only_its_index, memory_engine, store_many_consents


def test_the_access_check_reads_its_covering_index_alone():
    engine = memory_engine()
    rows = store_many_consents(engine, 200)
    store = ConsentStore(engine)

    plan = store.access_plan(rows[10]["contact_id"], rows[10]["professional_id"], START)

    assert access_check_plan_reads_only_its_index(plan, "sqlite"), plan
    assert store.check_access(rows[10]["contact_id"], rows[10]["professional_id"], START).consent_id == \
        rows[10]["consent_id"]
    assert store.check_access(rows[11]["contact_id"], rows[11]["professional_id"], START) is None  # revoked
    store.close()
