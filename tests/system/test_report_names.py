"""The overview report names the organisation as it is called when the report is asked for."""
import io

import openpyxl
import pytest
from pypdf import PdfReader

from support.api import create_operator, create_professional, register

pytestmark = pytest.mark.system


def _report(manager, organisation_id, report_format):
    response = manager.api.get(f"/organisations/{organisation_id}/reports/overview",
                               params={"format": report_format})
    assert response.status_code == 200, response.text
    return response


def test_a_renamed_organisations_next_report_carries_the_new_name(stack, mailbox):
    operator = create_operator(stack, mailbox)
    organisation_id, admin = register(stack, mailbox, "Uitzendbureau Oude Naam")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    anna = create_professional(stack, mailbox, operator, name="Anna Akkerman")
    contact_id = admin.api.get(f"/organisations/{organisation_id}/contacts").json()["contacts"][0]["contact_id"]
    assert anna.api.post("/consents", json={"organisation_id": organisation_id,
                                            "contact_ids": [contact_id]}).status_code == 201
    before = _report(admin, organisation_id, "json").json()
    assert before["organisation"]["name"] == "Uitzendbureau Oude Naam"

    renamed = admin.api.patch(f"/organisations/{organisation_id}", json={"name": "Uitzendbureau Nieuwe Naam"})
    assert renamed.status_code == 200, renamed.text

    # At once, not after a cache has expired.
    assert _report(admin, organisation_id, "json").json()["organisation"]["name"] == "Uitzendbureau Nieuwe Naam"
    pdf = _report(admin, organisation_id, "pdf")
    assert "pe-overview-uitzendbureau-nieuwe-naam-" in pdf.headers["Content-Disposition"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Uitzendbureau Nieuwe Naam" in text and "Oude Naam" not in text
    workbook = openpyxl.load_workbook(io.BytesIO(_report(admin, organisation_id, "xlsx").content))
    cells = [str(cell.value) for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
             if cell.value is not None]
    assert "Uitzendbureau Nieuwe Naam" in cells and not any("Oude Naam" in cell for cell in cells)
