"""The whole seed flow as one system test, through the gateway, every process real.

Register, mail, password, operator authorisation, contacts, professionals granting, dossier
reads, the overview report in JSON, PDF and XLSX, then a revocation: the dossier is refused,
the next report no longer lists the professional, and the professional's read log shows it all.

The stack is the `stack` fixture's: the processes of tests/system, or the composed stack of
tests/compose, which runs this same test against the containers.
"""
import io
import json
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from pypdf import PdfReader

from support.api import add_contact, create_operator, create_professional, register

pytestmark = pytest.mark.system


def import_progress(stack, tmp_path, records):
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(records))
    return stack.command("reporting", "import-progress", path)


def progress(registration: str, earned: float, submitted: str | None = None) -> dict:
    start = date.today() - timedelta(days=365)
    return {"pe_registration_number": registration, "period_start": start.isoformat(),
            "period_end": (start + timedelta(days=3 * 365)).isoformat(), "points_required": 60,
            "points_earned": earned, "renewal_submitted_date": submitted,
            "activities": [{"title": "Arbeidsrecht actueel", "provider": "Juridische Academie",
                            "completion_date": (start + timedelta(days=30)).isoformat(), "points": earned,
                            "category": "Wet- en regelgeving"}]}


def registration_of(person) -> str:
    return person.api.get("/me").json()["account"]["pe_registration_number"]


def test_seed_flow(stack, mailbox, tmp_path):
    operator = create_operator(stack, mailbox)
    organisation_id, admin = register(stack, mailbox, "Uitzendbureau Zeeland")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    mailbox.wait_for(admin.email, count=2)  # the authorisation confirmation
    second = add_contact(stack, mailbox, admin, organisation_id, "second_contact")
    contact = add_contact(stack, mailbox, admin, organisation_id, "contact")
    department = add_contact(stack, mailbox, second, organisation_id, "department", department_name="L&D")

    anna = create_professional(stack, mailbox, operator, name="Anna Akkerman")
    bram = create_professional(stack, mailbox, operator, name="Bram Bakker")
    carla = create_professional(stack, mailbox, operator, name="Carla Claassen")  # never consents
    records = [progress(registration_of(anna), 40, submitted=(date.today() - timedelta(days=3)).isoformat()),
               progress(registration_of(bram), 10), progress(registration_of(carla), 55)]
    imported = import_progress(stack, tmp_path, records + [{"pe_registration_number": "", "points_earned": "x"}])
    assert imported.returncode == 1, imported.stdout + imported.stderr
    assert "registry.json:1: pe_registration_number" in imported.stdout and "3 stored" in imported.stdout
    assert "1 rejected" in imported.stdout
    again = import_progress(stack, tmp_path, records)
    assert again.returncode == 0 and "3 unchanged" in again.stdout  # a re-run changes nothing

    until = (date.today() + timedelta(days=200)).isoformat()
    assert anna.api.post("/consents", json={"organisation_id": organisation_id,
                                            "contact_ids": [contact.contact_id]}).status_code == 201
    assert bram.api.post("/consents", json={"organisation_id": organisation_id, "contact_ids": [
        department.contact_id], "end_date": until}).status_code == 201

    dossier = contact.api.get(f"/dossiers/{anna.account_id}")
    assert dossier.status_code == 200, dossier.text
    assert dossier.json()["progress"]["points_earned"] == 40
    assert dossier.json()["progress"]["activities"][0]["title"] == "Arbeidsrecht actueel"
    assert department.api.get(f"/dossiers/{bram.account_id}").status_code == 200
    assert contact.api.get(f"/dossiers/{carla.account_id}").status_code == 404
    assert [d["professional_id"] for d in contact.api.get("/dossiers").json()["dossiers"]] == [anna.account_id]

    report = admin.api.get(f"/organisations/{organisation_id}/reports/overview", params={"format": "json"})
    assert report.status_code == 200, report.text
    body = report.json()
    numbers = {row["pe_registration_number"] for row in body["professionals"]}
    assert numbers == {registration_of(anna), registration_of(bram)}
    assert registration_of(carla) not in report.text and "Carla" not in report.text
    assert body["summary"]["professionals"] == 2

    pdf = second.api.get(f"/organisations/{organisation_id}/reports/overview", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert 'filename="pe-overview-uitzendbureau-zeeland-' in pdf.headers["Content-Disposition"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Uitzendbureau Zeeland" in text and registration_of(anna) in text and registration_of(bram) in text
    assert registration_of(carla) not in text and "Pagina 1 van" in text

    xlsx = admin.api.get(f"/organisations/{organisation_id}/reports/overview", params={"format": "xlsx"})
    assert xlsx.status_code == 200
    assert xlsx.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    flat = [str(v) for row in values for v in row]
    assert registration_of(anna) in flat and registration_of(carla) not in flat
    assert sheet.freeze_panes and sheet.auto_filter.ref
    assert any(isinstance(v, datetime) for row in values[1:] for v in row)
    assert any(isinstance(v, (int, float)) and not isinstance(v, bool) for row in values[1:] for v in row)

    for refused in (contact, department):
        assert refused.api.get(f"/organisations/{organisation_id}/reports/overview").status_code == 403
    assert anna.api.get(f"/organisations/{organisation_id}/reports/overview").status_code == 403
    assert operator.api.get(f"/organisations/{organisation_id}/reports/overview").status_code == 403

    consent_id = anna.api.get("/consents").json()["consents"][0]["consent_id"]
    assert anna.api.post(f"/consents/{consent_id}/revoke").status_code == 200
    assert contact.api.get(f"/dossiers/{anna.account_id}").status_code == 404
    after = admin.api.get(f"/organisations/{organisation_id}/reports/overview", params={"format": "json"}).json()
    assert {row["pe_registration_number"] for row in after["professionals"]} == {registration_of(bram)}

    entries = anna.api.get("/me/access-log").json()["entries"]
    kinds = [entry["kind"] for entry in entries]
    assert kinds.count("dossier_read") == 1 and kinds.count("report_inclusion") == 3
    read = next(e for e in entries if e["kind"] == "dossier_read")
    assert read["reader_account_id"] == contact.account_id and read["consent_id"] == consent_id
