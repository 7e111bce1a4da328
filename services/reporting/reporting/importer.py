"""Bulk import of PE progress from the PE registry: `python -m reporting import-progress FILE`.

Formats, by file extension or --format:

* JSON (.json): an array of progress records (or {"records": [...]}), each shaped like the data
  of a pe.registry.progress_updated.v1 event:
    {"pe_registration_number": "PE-0001", "period_start": "2025-01-01", "period_end": "2027-12-31",
     "points_required": 60, "points_earned": 12.5, "renewal_submitted_date": null,
     "activities": [{"title": ..., "provider": ..., "completion_date": "2025-03-01",
                     "points": 4, "category": ...}]}
  A problem names the line the record starts on.
* JSON Lines (.jsonl, .ndjson): one such record per line.
* CSV (.csv): one row per completed learning activity, with the professional's columns repeated
  on each of their rows; a professional without activities has one row with the activity
  columns empty. Header (any order): pe_registration_number, period_start, period_end,
  points_required, points_earned, renewal_submitted_date, activity_title, activity_provider,
  activity_completion_date, activity_points, activity_category. Separator ',' or ';'; dates
  YYYY-MM-DD or DD-MM-YYYY; a decimal point or comma. All rows of one professional must agree on
  the professional's columns; a professional with any bad row is not stored at all (their other
  rows are named too), so no one is stored with activities missing.

Every record or row is checked on its own: the bad ones are reported with their line and reason,
the good ones stored. Records are upserted by registration number; a record equal to what is
stored counts as 'unchanged', so running the same file again changes nothing.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reporting import handlers
from reporting.domain import InvalidInput, Progress, check_progress

FORMATS = ("csv", "json", "jsonl")
PROFESSIONAL_COLUMNS = ("pe_registration_number", "period_start", "period_end", "points_required",
                        "points_earned", "renewal_submitted_date")
ACTIVITY_COLUMNS = ("activity_title", "activity_provider", "activity_completion_date", "activity_points",
                    "activity_category")
REQUIRED_COLUMNS = PROFESSIONAL_COLUMNS[:5]
BATCH = 500


class UnreadableFile(Exception):
    """The file as a whole cannot be read (missing, not UTF-8, not JSON, no usable header)."""


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str


@dataclass
class ImportResult:
    records: int = 0          # professionals whose records passed the checks
    stored: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)


def _describe(error: InvalidInput) -> str:
    return "; ".join(f"{name}: {text}" for name, text in error.violations.items())


# --------------------------------------------------------------------------- JSON


def _array_items(text: str) -> list[tuple[int, object]]:
    """The elements of a top-level JSON array with the line each starts on."""
    decoder = json.JSONDecoder()
    index = len(text) - len(text.lstrip())
    if not text[index:index + 1] == "[":
        raise UnreadableFile("a JSON import must be an array of records (or an object with 'records')")
    index += 1
    items = []

    def skip(position: int) -> int:
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        return position

    index = skip(index)
    if text[index:index + 1] == "]":
        return items
    while True:
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError as error:
            raise UnreadableFile(f"line {error.lineno}: not valid JSON ({error.msg})") from None
        items.append((text.count("\n", 0, index) + 1, value))
        index = skip(end)
        if text[index:index + 1] == ",":
            index = skip(index + 1)
            continue
        if text[index:index + 1] == "]":
            return items
        line = text.count("\n", 0, index) + 1
        raise UnreadableFile(f"line {line}: not valid JSON (expected ',' or ']')")


def read_json(text: str) -> list[tuple[int, object]]:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise UnreadableFile(f"line {error.lineno}: not valid JSON ({error.msg})") from None
        records = document.get("records") if isinstance(document, dict) else None
        if not isinstance(records, list):
            raise UnreadableFile("a JSON object import must hold a 'records' array")
        # Line numbers of an object's elements: find them by re-reading the array in place.
        start = text.index("[", text.index('"records"'))
        return [(line + text.count("\n", 0, start), value) for line, value in _array_items(text[start:])]
    return _array_items(text)


def read_jsonl(text: str) -> tuple[list[tuple[int, object]], list[Problem]]:
    items, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            problems.append(Problem(number, f"not valid JSON ({error.msg})"))
    return items, problems


def check_records(items: list[tuple[int, object]]) -> tuple[list[tuple[int, Progress]], list[Problem]]:
    good, problems, first_line = [], [], {}
    for line, raw in items:
        if not isinstance(raw, Mapping):
            problems.append(Problem(line, "a record must be a JSON object"))
            continue
        try:
            record = check_progress(raw)
        except InvalidInput as error:
            problems.append(Problem(line, _describe(error)))
            continue
        number = record.pe_registration_number
        if number in first_line:
            problems.append(Problem(line, f"{number} appears again (first on line {first_line[number]}); "
                                          "the first one is used"))
            continue
        first_line[number] = line
        good.append((line, record))
    return good, problems


# --------------------------------------------------------------------------- CSV


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def read_csv(text: str) -> tuple[list[tuple[int, Progress]], list[Problem]]:
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(first_line))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise UnreadableFile("the CSV file is empty") from None
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise UnreadableFile(f"line 1: the CSV header must name {', '.join(PROFESSIONAL_COLUMNS + ACTIVITY_COLUMNS)}; "
                             f"missing {', '.join(missing)}")
    problems: list[Problem] = []
    groups: dict[str, dict] = {}   # number -> {"first": line, "fields": {...}, "activities": [], "lines": []}
    bad_numbers: dict[str, list[int]] = {}
    previous_end = 1
    for values in reader:
        line, previous_end = previous_end + 1, reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) > len(header):
            problems.append(Problem(line, f"has {len(values)} fields, the header {len(header)}"))
            continue
        row = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(header)}
        fields = {name: row.get(name, "") for name in PROFESSIONAL_COLUMNS}
        fields["renewal_submitted_date"] = fields["renewal_submitted_date"] or None
        activity = None
        if any(row.get(name) for name in ACTIVITY_COLUMNS):
            activity = {"title": row.get("activity_title", ""), "provider": row.get("activity_provider", ""),
                        "completion_date": row.get("activity_completion_date", ""),
                        "points": row.get("activity_points", ""), "category": row.get("activity_category", "")}
        try:
            check_progress({**fields, "activities": [activity] if activity else []})
        except InvalidInput as error:
            reason = _describe(error).replace("activities[0].", "activity_")
            problems.append(Problem(line, reason))
            if fields["pe_registration_number"]:
                bad_numbers.setdefault(fields["pe_registration_number"], []).append(line)
            continue
        number = fields["pe_registration_number"]
        group = groups.setdefault(number, {"first": line, "fields": fields, "activities": [], "lines": []})
        if group["fields"] != fields:
            differing = [n for n in PROFESSIONAL_COLUMNS if group["fields"][n] != fields[n]]
            problems.append(Problem(line, f"{', '.join(differing)} differ from line {group['first']} "
                                          f"of the same professional"))
            bad_numbers.setdefault(number, []).append(line)
            continue
        group["lines"].append(line)
        if activity:
            group["activities"].append(activity)
    good = []
    for number, group in groups.items():
        if number in bad_numbers:
            wrong = ", ".join(map(str, bad_numbers[number]))
            problems.extend(Problem(line, f"not stored: line {wrong} of {number} is wrong") for line in group["lines"])
            continue
        good.append((group["first"], check_progress({**group["fields"], "activities": group["activities"]})))
    problems.sort(key=lambda problem: problem.line)
    return good, problems


# --------------------------------------------------------------------------- the command


def detect_format(path: Path, chosen: str | None) -> str:
    if chosen:
        return chosen
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson"):
        return "jsonl"
    if suffix in ("json", "csv"):
        return suffix
    raise UnreadableFile(f"cannot tell the format of {path.name}; name it .csv, .json or .jsonl, or pass --format")


def read_file(path: Path, file_format: str) -> tuple[list[tuple[int, Progress]], list[Problem]]:
    """Checked records with the line each starts on, and the problems."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UnreadableFile(f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise UnreadableFile(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise UnreadableFile(f"cannot read {path}: {error.strerror}") from None
    if file_format == "csv":
        return read_csv(text)
    if file_format == "jsonl":
        items, problems = read_jsonl(text)
        good, more = check_records(items)
        return good, sorted(problems + more, key=lambda p: p.line)
    return check_records(read_json(text))


def import_file(path: Path, deps: handlers.Deps, file_format: str | None = None) -> ImportResult:
    file_format = detect_format(path, file_format)
    good, problems = read_file(path, file_format)
    result = ImportResult(records=len(good), problems=problems)
    for start in range(0, len(good), BATCH):
        batch = [(record, None) for _, record in good[start:start + BATCH]]
        changed = handlers.store_progress(batch, "import", deps)
        result.stored += sum(changed)
        result.unchanged += len(changed) - sum(changed)
    return result
