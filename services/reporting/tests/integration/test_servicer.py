"""The reporting service over gRPC, built by its own composition root, with in-process fakes of
consent (ListConsentEvents), organisation (GetOrganisation) and identity (BatchGetAccounts): reports
streamed as PDF and XLSX that parse, the wait for a log position with gaps filled from consent,
UNAVAILABLE with retry-after, field violations, dossiers and the access log; and the commands
`rebuild` and `import-progress` as processes."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from concurrent import futures
from datetime import date
from pathlib import Path

import grpc
import pytest
from openpyxl import load_workbook
from prometheus_client import CollectorRegistry
from pypdf import PdfReader

from pe.common.v1 import common_pb2
from pe.consent.v1 import consent_pb2, consent_pb2_grpc
from pe.identity.v1 import identity_pb2, identity_pb2_grpc
from pe.organisation.v1 import organisation_pb2, organisation_pb2_grpc
from pe.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from reporting import config, handlers
from reporting.__main__ import bootstrap
from reporting.domain import ConsentState
from svckit import rpc_errors
from svckit.server import GrpcHost

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[4]
ORGANISATION = "dddddddd-0000-4000-8000-000000000001"
ADMIN = "eeeeeeee-0000-4000-8000-000000000001"
STATES = {ConsentState.ACTIVE: consent_pb2.CONSENT_STATE_ACTIVE, ConsentState.REVOKED: consent_pb2.CONSENT_STATE_REVOKED,
          ConsentState.EXPIRED: consent_pb2.CONSENT_STATE_EXPIRED, ConsentState.ENDED: consent_pb2.CONSENT_STATE_ENDED}


def pid(n):
    return f"aaaaaaaa-0000-4000-8000-{n:012d}"


def kid(n):
    return f"bbbbbbbb-0000-4000-8000-{n:012d}"


def proto_event(event) -> consent_pb2.ConsentEvent:
    c = event.consent
    consent = consent_pb2.Consent(consent_id=c.consent_id, professional_id=c.professional_id,
                                  pe_registration_number=c.pe_registration_number, organisation_id=c.organisation_id,
                                  contact_id=c.contact_id, state=STATES[c.state], end_reason=c.reason or "",
                                  sequence=c.sequence)
    consent.valid_from.FromDatetime(c.valid_from)
    if c.end_date:
        consent.end_date.CopyFrom(common_pb2.Date(year=c.end_date.year, month=c.end_date.month, day=c.end_date.day))
    message = consent_pb2.ConsentEvent(event_id=event.event_id, position=event.position, type=event.type,
                                       consent=consent, reason=c.reason or "")
    message.occur_time.FromDatetime(event.occurred_at)
    return message


class FakeConsent(consent_pb2_grpc.ConsentServiceServicer):
    def __init__(self, world):
        self.world, self.calls = world, 0

    def ListConsentEvents(self, request, context):
        self.calls += 1
        if not self.world.available:
            context.abort(grpc.StatusCode.UNAVAILABLE, "down for the test")
        events, head = self.world.events_after(request.after_position, request.page_size or 100)
        return consent_pb2.ListConsentEventsResponse(events=[proto_event(e) for e in events], head_position=head)


class FakeOrganisation(organisation_pb2_grpc.OrganisationServiceServicer):
    """Every contact a consent of the world names exists until `removed` names it; contacts come
    in pages of two, so the client has to follow the tokens."""

    def __init__(self, world):
        self.world, self.removed = world, set()

    def ListContacts(self, request, context):
        if request.organisation_id != ORGANISATION:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such organisation")
        contacts = sorted({c.contact_id for c in self.world.consents.values()
                           if c.organisation_id == ORGANISATION} - self.removed)
        start = int(request.page_token or 0)
        more = start + 2 < len(contacts)
        return organisation_pb2.ListContactsResponse(
            contacts=[organisation_pb2.Contact(contact_id=c, organisation_id=ORGANISATION)
                      for c in contacts[start:start + 2]], next_page_token=str(start + 2) if more else "")

    def GetOrganisation(self, request, context):
        if request.organisation_id != ORGANISATION:
            context.abort(grpc.StatusCode.NOT_FOUND, "no such organisation")
        return organisation_pb2.GetOrganisationResponse(organisation=organisation_pb2.Organisation(
            organisation_id=ORGANISATION, name="Zorggroep Noord & Zn.",
            status=organisation_pb2.ORGANISATION_STATUS_AUTHORISED))


class FakeIdentity(identity_pb2_grpc.IdentityServiceServicer):
    def BatchGetAccounts(self, request, context):
        return identity_pb2.BatchGetAccountsResponse(accounts=[
            identity_pb2.Account(account_id=i, display_name=f"Naam {i[-4:]}") for i in request.account_ids])


@pytest.fixture
def fakes(consent_world):
    server = grpc.server(futures.ThreadPoolExecutor(8))
    consent = FakeConsent(consent_world)
    consent_pb2_grpc.add_ConsentServiceServicer_to_server(consent, server)
    organisation = FakeOrganisation(consent_world)
    organisation_pb2_grpc.add_OrganisationServiceServicer_to_server(organisation, server)
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(FakeIdentity(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", consent, organisation
    server.stop(0).wait()


@pytest.fixture
def settings(engine, fakes, port_factory):
    address, _, _ = fakes
    return config.load({"DATABASE_URL": engine.url.render_as_string(hide_password=False), "CONSENT_ADDR": address,
                        "ORGANISATION_ADDR": address, "IDENTITY_ADDR": address, "REPORT_WAIT_SECONDS": "0.6",
                        "PDF_WORKERS": "2", "PDF_PAGES_PER_CHUNK": "2", "RPC_TIMEOUT_SECONDS": "2"})


@pytest.fixture
def stub(settings, engine):
    parts = bootstrap(settings, engine, CollectorRegistry(), tls=None)
    host = GrpcHost(port=0, registrations=parts.registrations, registry=CollectorRegistry(), credentials=None,
                    bind_host="127.0.0.1")
    host.start()
    host.mark_ready()
    channel = grpc.insecure_channel(f"127.0.0.1:{host.port}")
    yield reporting_pb2_grpc.ReportingServiceStub(channel)
    channel.close()
    host.drain(0)
    for worker in parts.workers:
        worker.stop()


def progress(number: str, earned: float, activities=()) -> reporting_pb2.Progress:
    return reporting_pb2.Progress(
        pe_registration_number=number, period_start=common_pb2.Date(year=2025, month=1, day=1),
        period_end=common_pb2.Date(year=2027, month=12, day=31), points_required=60, points_earned=earned,
        activities=list(activities))


def download(stub, report_format, **fields):
    responses = list(stub.GenerateOverviewReport(reporting_pb2.GenerateOverviewReportRequest(
        organisation_id=ORGANISATION, format=report_format, requested_by_account_id=ADMIN, **fields), timeout=60))
    assert responses[0].WhichOneof("part") == "header"
    assert all(r.WhichOneof("part") == "chunk" and 0 < len(r.chunk) <= 64 * 1024 for r in responses[1:])
    return responses[0].header, b"".join(r.chunk for r in responses[1:])


def grant_many(world, count):
    for n in range(count):
        world.grant(pid(n), ORGANISATION, kid(n % 3), end_date=date(2027, 3, 31) if n % 2 else None,
                    registration_number=f"PE-{n:05d}")
    world.grant(pid(999), "cccccccc-0000-4000-8000-000000000009", kid(9), registration_number="PE-OTHER")


def test_pdf_and_xlsx_reports_stream_and_parse(stub, consent_world):
    grant_many(consent_world, 60)
    ingested = stub.IngestProgress(reporting_pb2.IngestProgressRequest(records=[
        progress(f"PE-{n:05d}", n) for n in range(0, 60, 2)] + [progress("", 1)]), timeout=10)
    assert (ingested.stored, ingested.unchanged) == (30, 0)
    assert [(r.index, r.reason) for r in ingested.rejections] == [(30, "pe_registration_number: is required")]
    head = len(consent_world.log)

    header, content = download(stub, reporting_pb2.REPORT_FORMAT_PDF, min_log_position=head)
    assert header.content_type == "application/pdf" and header.log_position == head
    assert header.professional_count == 60
    assert re.fullmatch(r"pe-overview-zorggroep-noord-zn-\d{4}-\d{2}-\d{2}\.pdf", header.filename)
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(content)).pages]
    assert len(pages) == 4 and all("Zorggroep Noord & Zn." in p for p in pages)
    assert "Pagina 1 van 4" in pages[0] and "Pagina 4 van 4" in pages[3]
    assert "Naam 0000" in pages[1] and "PE-OTHER" not in "".join(pages)

    header, content = download(stub, reporting_pb2.REPORT_FORMAT_XLSX, language=common_pb2.LANGUAGE_EN)
    assert header.filename.endswith(".xlsx") and header.professional_count == 60
    sheet = load_workbook(io.BytesIO(content))["Professionals"]
    assert sheet.max_row == 61 and sheet.freeze_panes == "A2"
    assert {sheet.cell(r, 2).value for r in range(2, 62)} == {f"PE-{n:05d}" for n in range(60)}

    header, content = download(stub, reporting_pb2.REPORT_FORMAT_JSON)
    document = json.loads(content)
    assert document["log_position"] == header.log_position == head
    assert document["summary"]["professionals"] == 60 and document["summary"]["no_data"] == 30


def test_a_report_after_a_revocation_waits_for_it_filling_the_gap_from_consent(stub, consent_world, deps):
    world = consent_world
    first, second = world.grant(pid(1), ORGANISATION, kid(1)), world.grant(pid(2), ORGANISATION, kid(1))
    third = world.grant(pid(3), ORGANISATION, kid(1))
    for event in (first, third):                        # the broker delivered these; position 2 is missing
        handlers.apply_consent_event(event, deps)
    revoked = world.revoke(third.consent.consent_id)    # committed at consent; gateway passes its position
    header, content = download(stub, reporting_pb2.REPORT_FORMAT_JSON, min_log_position=revoked.position)
    assert header.log_position == revoked.position
    assert [r["professional_id"] for r in json.loads(content)["professionals"]] == [pid(1), pid(2)]


def test_unavailable_with_retry_after_when_the_read_model_cannot_catch_up(stub, consent_world):
    consent_world.grant(pid(1), ORGANISATION, kid(1))
    consent_world.available = False
    with pytest.raises(grpc.RpcError) as caught:
        download(stub, reporting_pb2.REPORT_FORMAT_PDF, min_log_position=1)
    error = caught.value
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert ("retry-after", "1") in tuple(error.trailing_metadata())
    assert rpc_errors.error_reason(error) == "READ_MODEL_BEHIND"


def test_bad_requests_name_their_fields(stub):
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.GenerateOverviewReport(reporting_pb2.GenerateOverviewReportRequest(
            organisation_id="nope", requested_by_account_id=ADMIN), timeout=5))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(rpc_errors.field_violations(caught.value)) == {"format", "organisation_id"}
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.GenerateOverviewReport(reporting_pb2.GenerateOverviewReportRequest(
            organisation_id="nope", format=reporting_pb2.REPORT_FORMAT_PDF, min_log_position=-1), timeout=5))
    assert set(rpc_errors.field_violations(caught.value)) == {"organisation_id", "requested_by_account_id",
                                                              "min_log_position"}
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetDossier(reporting_pb2.GetDossierRequest(professional_id=pid(1)), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(rpc_errors.field_violations(caught.value)) == {"reader_account_id", "reader_contact_id", "consent_id"}
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListAccessLog(reporting_pb2.ListAccessLogRequest(professional_id=pid(1), page_token="x"), timeout=5)
    assert rpc_errors.field_violations(caught.value) == {"page_token": "is not a token this service gave out"}
    with pytest.raises(grpc.RpcError) as caught:
        download_other = stub.GenerateOverviewReport(reporting_pb2.GenerateOverviewReportRequest(
            organisation_id=pid(5), format=reporting_pb2.REPORT_FORMAT_JSON, requested_by_account_id=ADMIN), timeout=5)
        list(download_other)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_dossiers_and_the_access_log_over_grpc(stub, consent_world):
    granted = consent_world.grant(pid(1), ORGANISATION, kid(1), end_date=date(2027, 3, 31), registration_number="PE-1")
    stub.IngestProgress(reporting_pb2.IngestProgressRequest(records=[progress("PE-1", 12.5, [
        reporting_pb2.LearningActivity(title="Ethiek", provider="SEU", points=12.5, category="Integriteit",
                                       completion_date=common_pb2.Date(year=2025, month=5, day=1))])]), timeout=5)
    request = reporting_pb2.GetDossierRequest(professional_id=pid(1), reader_account_id=ADMIN,
                                              reader_contact_id=kid(1), consent_id=granted.consent.consent_id)
    dossier = stub.GetDossier(request, timeout=5).dossier    # found by catching up with consent
    assert dossier.display_name == "Naam 0001" and dossier.consent_end_date.year == 2027
    assert dossier.progress.points_earned == 12.5 and dossier.progress.activities[0].title == "Ethiek"
    assert dossier.progress.HasField("update_time")

    listed = stub.ListDossiers(reporting_pb2.ListDossiersRequest(contact_id=kid(1)), timeout=5)
    assert [(d.professional_id, d.consent_id) for d in listed.dossiers] == [(pid(1), granted.consent.consent_id)]
    assert not listed.dossiers[0].HasField("progress") and listed.dossiers[0].consent_end_date.year == 2027
    shown = stub.BatchGetDossiers(reporting_pb2.BatchGetDossiersRequest(
        reader_account_id=ADMIN, reader_contact_id=kid(1), grants=[reporting_pb2.DossierGrant(
            professional_id=pid(1), consent_id=granted.consent.consent_id)]), timeout=5).dossiers
    assert [(d.professional_id, d.display_name, d.progress.points_earned) for d in shown] == \
        [(pid(1), "Naam 0001", 12.5)]
    assert not shown[0].progress.activities
    own = stub.GetOwnDossier(reporting_pb2.GetOwnDossierRequest(professional_id=pid(1),
                                                                pe_registration_number="PE-1"), timeout=5).dossier
    assert own.progress.activities[0].title == "Ethiek" and own.consent_id == "" and not own.HasField(
        "consent_end_date")

    with pytest.raises(grpc.RpcError) as caught:
        stub.GetDossier(reporting_pb2.GetDossierRequest(professional_id=pid(1), reader_account_id=ADMIN,
                                                        reader_contact_id=kid(2), consent_id=granted.consent.consent_id),
                        timeout=5)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    download(stub, reporting_pb2.REPORT_FORMAT_JSON)
    entries = stub.ListAccessLog(reporting_pb2.ListAccessLogRequest(professional_id=pid(1)), timeout=5).entries
    assert [e.kind for e in entries] == [reporting_pb2.ACCESS_KIND_REPORT_INCLUSION,
                                         reporting_pb2.ACCESS_KIND_DOSSIER_LISTED, reporting_pb2.ACCESS_KIND_DOSSIER_READ]
    assert {e.consent_id for e in entries[1:]} == {granted.consent.consent_id}
    assert {e.organisation_id for e in entries[1:]} == {ORGANISATION}
    assert entries[0].report_id and entries[0].reader_account_id == ADMIN


def test_a_report_leaves_out_consents_to_a_contact_organisation_no_longer_lists(stub, fakes, consent_world):
    grant_many(consent_world, 9)                    # contacts kid(0) to kid(2): two pages of ListContacts
    consent_world.grant(pid(3), ORGANISATION, kid(1), registration_number="PE-00003")  # 3 also to kid(1)
    _, _, organisation = fakes
    organisation.removed.add(kid(0))                # pid 0, 3 and 6 consented to kid(0)
    header, content = download(stub, reporting_pb2.REPORT_FORMAT_JSON, min_log_position=len(consent_world.log))
    shown = sorted(row["professional_id"] for row in json.loads(content)["professionals"])
    assert shown == sorted(pid(n) for n in (1, 2, 3, 4, 5, 7, 8)) and header.professional_count == 7


def test_list_and_own_dossier_requests_name_the_fields_at_fault(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.BatchGetDossiers(reporting_pb2.BatchGetDossiersRequest(reader_account_id=ADMIN, reader_contact_id=kid(1)),
                              timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rpc_errors.field_violations(caught.value) == {"grants": "must name 1 to 200 dossiers"}
    with pytest.raises(grpc.RpcError) as caught:
        stub.BatchGetDossiers(reporting_pb2.BatchGetDossiersRequest(
            reader_account_id=ADMIN, reader_contact_id=kid(1),
            grants=[reporting_pb2.DossierGrant(professional_id="x", consent_id=pid(2))]), timeout=5)
    assert set(rpc_errors.field_violations(caught.value)) == {"grants[0].professional_id"}
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetOwnDossier(reporting_pb2.GetOwnDossierRequest(professional_id=pid(1)), timeout=5)
    assert set(rpc_errors.field_violations(caught.value)) == {"pe_registration_number"}


def run_command(settings, *args, timeout=60):
    # The fake services answer without TLS, which a process allows only when told, in development.
    env = {**os.environ, "DATABASE_URL": settings.database_url, "CONSENT_ADDR": settings.consent_addr,
           "LOG_LEVEL": "WARNING", "DEVELOPMENT": "1", "GRPC_TLS": "off"}
    return subprocess.run([sys.executable, "-m", "reporting", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_rebuild_command_equals_the_live_read_model(settings, fakes, consent_world, deps):
    world = consent_world
    grant_many(world, 20)
    ids = list(world.consents)
    for consent_id in ids[:5]:
        world.revoke(consent_id)
    world.change(ids[6], None)
    world.expire(ids[7])
    for event in reversed(world.log):                 # live: delivered newest first, and twice
        handlers.apply_consent_event(event, deps)
        handlers.apply_consent_event(event, deps)
    with deps.store.read() as tx:
        live = {c.consent_id: c for c in tx.all_consents()}
    assert live == world.consents
    _, consent, _ = fakes
    done = run_command(settings, "rebuild")
    assert done.returncode == 0, done.stderr
    assert f"applied through log position {len(world.log)}" in done.stdout and consent.calls >= 1
    with deps.store.read() as tx:
        assert {c.consent_id: c for c in tx.all_consents()} == live
        assert tx.applied_through() == len(world.log)


def test_rebuild_command_without_consent_says_so_in_one_line(settings, consent_world):
    consent_world.available = False
    done = run_command(settings, "rebuild")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("reporting: cannot read consent's event log")


def test_import_progress_command_reports_bad_rows_and_reruns_unchanged(settings, tmp_path, deps):
    path = tmp_path / "progress.csv"
    path.write_text("pe_registration_number,period_start,period_end,points_required,points_earned\n"
                    "PE-1,2025-01-01,2027-12-31,60,10\nPE-2,2025-01-01,2027-12-31,60,tien\n")
    first = run_command(settings, "import-progress", str(path))
    assert first.returncode == 1
    assert f"{path}:3: points_earned: must be a number" in first.stdout
    assert first.stdout.strip().endswith("1 records accepted: 1 stored, 0 unchanged; 1 rejected")
    again = run_command(settings, "import-progress", str(path))
    assert again.stdout.strip().endswith("1 records accepted: 0 stored, 1 unchanged; 1 rejected")
    missing = run_command(settings, "import-progress", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    with deps.store.read() as tx:
        assert tx.stored_progress("PE-1").progress.points_earned == 10
