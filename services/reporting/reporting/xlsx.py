"""The overview report as a spreadsheet (XlsxWriter, constant_memory mode).

Sheet 1 lists the consenting professionals, one row each, with a frozen header row and an
autofilter; dates are real dates with a date format, points and progress real numbers. Sheet 2
holds the summary over those rows, the definition of 'on track' and the consent log position.
constant_memory writes each row to a temporary file as it goes, so memory stays flat however many
rows there are; the finished workbook is read back in pieces.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from reporting.domain import OverviewReport, ProgressStatus
from reporting.texts import STATUS_LABELS, date_format, format_moment, labels

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READ_BYTES = 64 * 1024

COLUMNS = (  # label key, width
    ("name", 34), ("registration_number", 22), ("period_start", 16), ("period_end", 16),
    ("points_earned", 15), ("points_required", 15), ("progress", 12), ("status", 18),
    ("submitted", 18), ("valid_until", 18),
)


def write_workbook(report: OverviewReport, path: str, tmpdir: str | None = None) -> None:
    import xlsxwriter
    language = report.language.value
    words, statuses = labels(language), STATUS_LABELS[language]
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "tmpdir": tmpdir,
                                          "default_date_format": date_format(language)})
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#1F4E79", "font_color": "#FFFFFF",
                                    "text_wrap": True, "valign": "top"})
        as_date = workbook.add_format({"num_format": date_format(language)})
        points = workbook.add_format({"num_format": "0.0#"})
        percent = workbook.add_format({"num_format": "0%"})
        rows_sheet = workbook.add_worksheet(words["sheet_rows"])
        summary_sheet = workbook.add_worksheet(words["sheet_summary"])

        for column, (key, width) in enumerate(COLUMNS):
            rows_sheet.set_column(column, column, width)
        rows_sheet.write_row(0, 0, [words[key] for key, _ in COLUMNS], bold)
        rows_sheet.freeze_panes(1, 0)
        rows_sheet.autofilter(0, 0, max(len(report.rows), 1), len(COLUMNS) - 1)
        for index, row in enumerate(report.rows, start=1):
            record = row.progress
            rows_sheet.write_string(index, 0, row.display_name)
            rows_sheet.write_string(index, 1, row.pe_registration_number)
            if record is not None:
                rows_sheet.write_datetime(index, 2, record.period_start, as_date)
                rows_sheet.write_datetime(index, 3, record.period_end, as_date)
                rows_sheet.write_number(index, 4, record.points_earned, points)
                rows_sheet.write_number(index, 5, record.points_required, points)
                rows_sheet.write_number(index, 6, (row.percent or 0) / 100, percent)
            rows_sheet.write_string(index, 7, statuses[row.status])
            if record is not None and record.renewal_submitted_date is not None:
                rows_sheet.write_datetime(index, 8, record.renewal_submitted_date, as_date)
            elif record is not None:
                rows_sheet.write_string(index, 8, words["not_submitted"])
            if row.valid_until is not None:
                rows_sheet.write_datetime(index, 9, row.valid_until, as_date)
            else:
                rows_sheet.write_string(index, 9, words["no_end_date"])

        wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        summary_sheet.set_column(0, 0, 44)
        summary_sheet.set_column(1, 2, 14)
        summary_sheet.write_string(0, 0, words["organisation"], bold)
        summary_sheet.write_string(0, 1, report.organisation_name)
        summary_sheet.write_string(1, 0, words["generated"], bold)
        summary_sheet.write_string(1, 1, format_moment(report.generated_at, language))
        summary_sheet.write_string(2, 0, words["log_position"], bold)
        summary_sheet.write_number(2, 1, report.log_position)
        summary_sheet.write_string(3, 0, words["report_id"], bold)
        summary_sheet.write_string(3, 1, report.report_id)
        summary_sheet.write_row(5, 0, [words["status"], words["count"], words["share"]], bold)
        summary = report.summary
        total = max(summary.professionals, 1)
        counts = [(words["professionals"], summary.professionals),
                  (statuses[ProgressStatus.ON_TRACK], summary.on_track),
                  (statuses[ProgressStatus.BEHIND], summary.behind),
                  (statuses[ProgressStatus.DOSSIER_SUBMITTED], summary.dossier_submitted),
                  (statuses[ProgressStatus.NO_DATA], summary.no_data)]
        for offset, (label, count) in enumerate(counts):
            summary_sheet.write_string(6 + offset, 0, label)
            summary_sheet.write_number(6 + offset, 1, count)
            if offset:
                summary_sheet.write_number(6 + offset, 2, count / total, percent)
        summary_sheet.write_string(12, 0, words["on_track_definition"], wrap)
        summary_sheet.write_string(13, 0, words["scope"], wrap)
    finally:
        workbook.close()


@dataclass
class XlsxRenderer:
    tmpdir: str | None = None
    content_type: str = CONTENT_TYPE
    extension: str = "xlsx"

    def render(self, report: OverviewReport) -> Iterator[bytes]:
        handle, path = tempfile.mkstemp(suffix=".xlsx", dir=self.tmpdir)
        os.close(handle)
        try:
            write_workbook(report, path, self.tmpdir)
            with open(path, "rb") as workbook:
                while piece := workbook.read(READ_BYTES):
                    yield piece
        finally:
            os.unlink(path)
