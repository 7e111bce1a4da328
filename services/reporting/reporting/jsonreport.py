"""The overview report as JSON: its rows, the summary over them, the log position and time.

Dates are ISO 8601 and numbers plain, whatever the report's language; the status is a code
(on_track, behind, dossier_submitted, no_data) defined in `definitions`.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from reporting.domain import OverviewReport, ReportRow
from reporting.texts import labels

CONTENT_TYPE = "application/json"


def _row(row: ReportRow) -> dict:
    record = row.progress
    return {
        "professional_id": row.professional_id,
        "name": row.display_name,
        "pe_registration_number": row.pe_registration_number,
        "period_start": record.period_start.isoformat() if record else None,
        "period_end": record.period_end.isoformat() if record else None,
        "points_earned": record.points_earned if record else None,
        "points_required": record.points_required if record else None,
        "progress_percent": row.percent,
        "status": row.status.value,
        "renewal_submitted": bool(record and record.renewal_submitted_date),
        "renewal_submitted_date": (record.renewal_submitted_date.isoformat()
                                   if record and record.renewal_submitted_date else None),
        "consent_valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "consent_without_end_date": row.valid_until is None,
    }


def document(report: OverviewReport) -> dict:
    words = labels(report.language.value)
    return {
        "report_id": report.report_id,
        "organisation": {"organisation_id": report.organisation_id, "name": report.organisation_name},
        "generate_time": report.generated_at.isoformat().replace("+00:00", "Z"),
        "log_position": report.log_position,
        "language": report.language.value,
        "professionals": [_row(row) for row in report.rows],
        "summary": report.summary.as_dict(),
        "definitions": {"on_track": words["on_track_definition"], "scope": words["scope"]},
    }


@dataclass
class JsonRenderer:
    content_type: str = CONTENT_TYPE
    extension: str = "json"

    def render(self, report: OverviewReport) -> Iterator[bytes]:
        yield json.dumps(document(report), ensure_ascii=False, indent=1).encode()
