"""Bulk import: each row or record checked alone, bad ones named by line, good ones stored; a re-run
changes nothing."""
from __future__ import annotations

import json

import pytest

from reporting import importer
from reporting.importer import Problem, UnreadableFile, read_csv, read_json, read_jsonl

HEADER = ("pe_registration_number;period_start;period_end;points_required;points_earned;renewal_submitted_date;"
          "activity_title;activity_provider;activity_completion_date;activity_points;activity_category\n")


def csv_text(*rows: str) -> str:
    return HEADER + "".join(row + "\n" for row in rows)


def test_csv_rows_of_one_professional_become_one_record_with_its_activities():
    good, problems = read_csv(csv_text(
        "PE-1;01-01-2025;31-12-2027;60;12,5;;Arbeidsrecht;NRTO;15-03-2025;4;Vakinhoudelijk",
        "PE-2;2025-01-01;2027-12-31;60;0;2026-06-01;;;;;",
        "PE-1;01-01-2025;31-12-2027;60;12,5;;Ethiek;SEU;2025-04-01;8,5;Integriteit"))
    assert problems == []
    assert [(line, record.pe_registration_number) for line, record in good] == [(2, "PE-1"), (3, "PE-2")]
    first = good[0][1]
    assert first.points_earned == 12.5
    assert [(a.title, a.points) for a in first.activities] == [("Arbeidsrecht", 4.0), ("Ethiek", 8.5)]
    assert good[1][1].activities == () and good[1][1].renewal_submitted_date.isoformat() == "2026-06-01"


def test_csv_bad_rows_are_named_by_line_and_their_professional_is_not_stored_half():
    good, problems = read_csv(csv_text(
        "PE-1;01-01-2025;31-12-2027;60;12;;Arbeidsrecht;NRTO;15-03-2025;4;Vak",       # line 2
        "PE-1;01-01-2025;31-12-2027;60;12;;Ethiek;SEU;31-02-2025;8;Vak",              # line 3: no such date
        "PE-3;01-01-2025;31-12-2027;zestig;12;;;;;;",                                  # line 4
        "PE-4;01-01-2025;31-12-2027;60;12;;;;;;",                                      # line 5: good
        "PE-4;01-01-2025;31-12-2027;60;13;;Extra;X;01-02-2025;1;Y",                   # line 6: disagrees
        ";01-01-2025;31-12-2027;60;12;;;;;;",                                          # line 7
        "PE-6;01-01-2025;31-12-2027;60;12;;;;;;;;;"))                                  # line 8: too many fields
    assert good == []
    assert problems == [
        Problem(2, "not stored: line 3 of PE-1 is wrong"),
        Problem(3, "activity_completion_date: must be a date (YYYY-MM-DD or DD-MM-YYYY)"),
        Problem(4, "points_required: must be a number"),
        Problem(5, "not stored: line 6 of PE-4 is wrong"),
        Problem(6, "points_earned differ from line 5 of the same professional"),
        Problem(7, "pe_registration_number: is required"),
        Problem(8, "has 14 fields, the header 11"),
    ]


def test_csv_with_commas_quotes_and_a_multi_line_field_keeps_line_numbers_right():
    text = ("pe_registration_number,period_start,period_end,points_required,points_earned,activity_title,"
            "activity_completion_date,activity_points\n"
            'PE-1,2025-01-01,2027-12-31,60,1,"Title, with comma\nand a second line",2025-02-01,1\n'
            "PE-2,2025-01-01,2027-12-31,60,x,,,\n")
    good, problems = read_csv(text)
    assert [r.pe_registration_number for _, r in good] == ["PE-1"]
    assert good[0][1].activities[0].title == "Title, with comma and a second line"
    assert problems == [Problem(4, "points_earned: must be a number")]


def test_csv_without_the_needed_columns_is_unreadable():
    with pytest.raises(UnreadableFile, match="line 1: .*missing points_required, points_earned"):
        read_csv("pe_registration_number,period_start,period_end\nPE-1,2025-01-01,2027-12-31\n")


def test_json_records_are_checked_one_by_one_with_the_line_they_start_on():
    records = [
        {"pe_registration_number": "PE-1", "period_start": "2025-01-01", "period_end": "2027-12-31",
         "points_required": 60, "points_earned": 3, "renewal_submitted_date": None,
         "activities": [{"title": "A", "provider": "B", "completion_date": "2025-02-01", "points": 3,
                         "category": "C"}]},
        {"pe_registration_number": "PE-2", "period_start": "2025-01-01", "period_end": "2024-12-31",
         "points_required": 60, "points_earned": 3},
        "not an object",
        {"pe_registration_number": "PE-1", "period_start": "2025-01-01", "period_end": "2027-12-31",
         "points_required": 60, "points_earned": 4},
    ]
    text = json.dumps(records, indent=2)
    good, problems = importer.check_records(read_json(text))
    lines = [text.count("\n", 0, text.index(marker)) + 1 for marker in ('"PE-2"', '"not an object"')]
    assert [r.pe_registration_number for _, r in good] == ["PE-1"]
    assert problems[0] == Problem(lines[0] - 1, "period_end: must not be before period_start")
    assert problems[1] == Problem(lines[1], "a record must be a JSON object")
    assert problems[2].reason.startswith("PE-1 appears again (first on line 2)")


def test_json_object_with_records_and_json_lines():
    text = '{"source": "registry",\n "records": [\n  {"pe_registration_number": "PE-9"}\n ]}'
    good, problems = importer.check_records(read_json(text))
    assert good == [] and problems[0].line == 3 and "period_start: is required" in problems[0].reason
    items, problems = read_jsonl('{"a": 1}\n\nnot json\n')
    assert items == [(1, {"a": 1})] and problems == [Problem(3, "not valid JSON (Expecting value)")]


def test_broken_json_is_unreadable_with_its_line():
    with pytest.raises(UnreadableFile, match="line 3: not valid JSON"):
        read_json('[\n {"a": 1},\n {"b": }\n]')


def test_import_stores_good_records_and_a_rerun_changes_nothing(tmp_path, deps):
    path = tmp_path / "progress.csv"
    path.write_text(csv_text(
        "PE-1;01-01-2025;31-12-2027;60;12;;Arbeidsrecht;NRTO;15-03-2025;4;Vak",
        "PE-2;01-01-2025;31-12-2027;60;x;;;;;;",
        "PE-3;01-01-2025;31-12-2027;60;0;;;;;;"))
    first = importer.import_file(path, deps)
    assert (first.records, first.stored, first.unchanged) == (2, 2, 0)
    assert first.problems == [Problem(3, "points_earned: must be a number")]
    with deps.store.read() as tx:
        before = tx.stored_progress("PE-1")
    again = importer.import_file(path, deps)
    assert (again.records, again.stored, again.unchanged) == (2, 0, 2)
    with deps.store.read() as tx:
        assert tx.stored_progress("PE-1") == before
        assert tx.stored_progress("PE-2") is None

    changed = tmp_path / "progress.json"
    changed.write_text(json.dumps([{**before.progress.as_dict(), "points_earned": 20}]))
    third = importer.import_file(changed, deps)
    assert (third.stored, third.unchanged) == (1, 0)
    with deps.store.read() as tx:
        assert tx.stored_progress("PE-1").progress.points_earned == 20


def test_unknown_extension_needs_a_format(tmp_path):
    with pytest.raises(UnreadableFile, match="--format"):
        importer.detect_format(tmp_path / "x.txt", None)
    assert importer.detect_format(tmp_path / "x.txt", "csv") == "csv"
    assert importer.detect_format(tmp_path / "x.NDJSON", None) == "jsonl"
