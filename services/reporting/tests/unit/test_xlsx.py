"""The XLSX report read back with openpyxl: frozen header, autofilter, real dates and numbers, summary."""
from __future__ import annotations

import io
from datetime import datetime

from openpyxl import load_workbook

from reporting.domain import Language
from reporting.xlsx import XlsxRenderer


def workbook(report):
    return load_workbook(io.BytesIO(b"".join(XlsxRenderer().render(report))))


def test_rows_sheet_has_a_frozen_filtered_header_and_typed_cells(make_report):
    book = workbook(make_report(40))
    sheet = book["Professionals"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:J41"
    assert [c.value for c in sheet[1]] == ["Naam", "PE-registratienummer", "Begin PE-periode", "Einde PE-periode",
                                           "Punten behaald", "Punten vereist", "Voortgang", "Status",
                                           "Dossier ingediend", "Toestemming tot"]
    row = [c for c in sheet[3]]   # Professional 00001
    assert row[0].value == "Professional 00001" and row[1].value == "PE-000001"
    assert isinstance(row[2].value, datetime) and row[2].value.date().isoformat() == "2025-01-01"
    assert row[2].number_format == "dd-mm-yyyy"
    assert row[4].value == 1 and isinstance(row[4].value, (int, float)) and row[5].value == 60
    assert abs(row[6].value - 1 / 60) < 0.001 and row[6].number_format == "0%"
    assert row[7].value == "achter" and row[8].value == "nee"
    assert isinstance(row[9].value, datetime)
    first = [c.value for c in sheet[2]]
    assert first[9] == "geen einddatum"
    no_data = [c.value for c in sheet[5]]   # Professional 00003 has no PE data
    assert no_data[2:7] == [None] * 5 and no_data[7] == "geen gegevens"
    assert sheet.max_row == 41


def test_summary_sheet_counts_only_the_rows(make_report):
    report = make_report(40)
    sheet = workbook(report)["Samenvatting"]
    values = {sheet.cell(r, 1).value: sheet.cell(r, 2).value for r in range(1, sheet.max_row + 1)}
    assert values["Organisatie"] == "Voorbeeld Uitzend B.V."
    assert values["Stand toestemmingen (logpositie)"] == 42
    assert values["Professionals met een geldige toestemming"] == 40
    assert values["op schema"] + values["achter"] + values["dossier ingediend"] + values["geen gegevens"] == 40
    assert values["achter"] == report.summary.behind


def test_english_sheet_names_and_iso_date_format(make_report):
    book = workbook(make_report(2, language=Language.EN))
    assert book.sheetnames == ["Professionals", "Summary"]
    assert book["Professionals"]["C2"].number_format == "yyyy-mm-dd"


def test_an_empty_report_is_a_valid_workbook(make_report):
    book = workbook(make_report(0))
    assert book["Professionals"].max_row == 1
