"""Words and number/date formats of the overview report, Dutch by default, English on request.

Documents show dates as 31-12-2027 in Dutch and 2027-12-31 in English; numbers with a decimal
comma in Dutch. The JSON report keeps ISO 8601 dates and plain numbers whatever the language.
"""
from __future__ import annotations

from datetime import date, datetime

from reporting.domain import AMSTERDAM, ProgressStatus

LABELS = {
    "nl": {
        "title": "Overzicht PE-voortgang",
        "generated": "Gegenereerd op",
        "log_position": "Stand toestemmingen (logpositie)",
        "page": "Pagina {page} van {pages}",
        "confidential": "Vertrouwelijk: alleen professionals met een geldige toestemming",
        "name": "Naam",
        "number": "PE-nummer",
        "registration_number": "PE-registratienummer",
        "period": "PE-periode",
        "period_start": "Begin PE-periode",
        "period_end": "Einde PE-periode",
        "points": "Punten",
        "points_earned": "Punten behaald",
        "points_required": "Punten vereist",
        "progress": "Voortgang",
        "status": "Status",
        "submitted": "Dossier ingediend",
        "valid_until": "Toestemming tot",
        "no_end_date": "geen einddatum",
        "not_submitted": "nee",
        "no_data": "geen gegevens",
        "summary": "Samenvatting",
        "professionals": "Professionals met een geldige toestemming",
        "count": "Aantal",
        "share": "Aandeel",
        "none": "Er zijn geen professionals met een geldige toestemming voor deze organisatie.",
        "on_track_definition": (
            "Op schema: het aantal behaalde punten is minstens het vereiste aantal maal het deel van de "
            "PE-periode dat verstreken is (dagen tot en met vandaag). Wie het dossier voor herregistratie al "
            "heeft ingediend, telt als 'dossier ingediend'; van wie het PE-register nog niets meldde, als "
            "'geen gegevens'."),
        "scope": ("Dit overzicht bevat alleen professionals die een medewerker van deze organisatie "
                  "toestemming hebben gegeven; over anderen zegt het niets."),
        "legend": "Kleur van de balk",
        "organisation": "Organisatie",
        "report_id": "Rapport-id",
        "sheet_rows": "Professionals",
        "sheet_summary": "Samenvatting",
    },
    "en": {
        "title": "PE progress overview",
        "generated": "Generated on",
        "log_position": "Consents as of (log position)",
        "page": "Page {page} of {pages}",
        "confidential": "Confidential: only professionals with a valid consent",
        "name": "Name",
        "number": "PE number",
        "registration_number": "PE registration number",
        "period": "PE period",
        "period_start": "PE period start",
        "period_end": "PE period end",
        "points": "Points",
        "points_earned": "Points earned",
        "points_required": "Points required",
        "progress": "Progress",
        "status": "Status",
        "submitted": "Dossier submitted",
        "valid_until": "Consent until",
        "no_end_date": "no end date",
        "not_submitted": "no",
        "no_data": "no data",
        "summary": "Summary",
        "professionals": "Professionals with a valid consent",
        "count": "Count",
        "share": "Share",
        "none": "No professional has a valid consent for this organisation.",
        "on_track_definition": (
            "On track: points earned are at least the points required times the share of the PE period "
            "gone by (days up to and including today). Those who have already submitted their renewal "
            "dossier count as 'dossier submitted'; those the PE registry has reported nothing about yet as "
            "'no data'."),
        "scope": ("This overview holds only professionals who consented to a contact of this organisation; "
                  "it says nothing about anyone else."),
        "legend": "Colour of the bar",
        "organisation": "Organisation",
        "report_id": "Report id",
        "sheet_rows": "Professionals",
        "sheet_summary": "Summary",
    },
}

STATUS_LABELS = {
    "nl": {ProgressStatus.ON_TRACK: "op schema", ProgressStatus.BEHIND: "achter",
           ProgressStatus.DOSSIER_SUBMITTED: "dossier ingediend", ProgressStatus.NO_DATA: "geen gegevens"},
    "en": {ProgressStatus.ON_TRACK: "on track", ProgressStatus.BEHIND: "behind",
           ProgressStatus.DOSSIER_SUBMITTED: "dossier submitted", ProgressStatus.NO_DATA: "no data"},
}


def labels(language: str) -> dict[str, str]:
    return LABELS[language]


def format_date(value: date | None, language: str) -> str:
    if value is None:
        return ""
    return value.strftime("%d-%m-%Y") if language == "nl" else value.isoformat()


def format_moment(moment: datetime, language: str) -> str:
    """An instant in Amsterdam time, as people there read it."""
    local = moment.astimezone(AMSTERDAM)
    return local.strftime("%d-%m-%Y %H:%M") if language == "nl" else local.strftime("%Y-%m-%d %H:%M")


def format_number(value: float, language: str) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if language == "nl" else text


def format_percent(value: float, language: str) -> str:
    return f"{format_number(round(value), language)}%"


def date_format(language: str) -> str:
    """The spreadsheet number format for dates."""
    return "dd-mm-yyyy" if language == "nl" else "yyyy-mm-dd"
