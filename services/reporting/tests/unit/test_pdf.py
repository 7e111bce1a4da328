"""The PDF report read back with pypdf (its text, lines rebuilt from where the glyphs are) and with
pdfminer.six (where each glyph is): page head, organisation, 'Pagina X van Y', header row on every
page, the rows, and columns that line up for every name, whether rendered here or in chunks by
worker processes."""
from __future__ import annotations

import io
import re

import pytest
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTContainer
from pypdf import PdfReader

from reporting import pdf
from reporting.domain import Language
from reporting.pdf import PdfPool, PdfRenderer
from reporting.texts import labels as pdf_labels

SPACES = re.compile(r"[\s\u2000-\u200a]+")


def pages_text(data: bytes) -> list[str]:
    return [SPACES.sub(" ", page.extract_text(extraction_mode="layout"))
            for page in PdfReader(io.BytesIO(data)).pages]


def render(report, **kwargs) -> bytes:
    return b"".join(PdfRenderer(**kwargs).render(report))


def test_every_page_has_the_organisation_its_number_and_the_header_row(make_report):
    report = make_report(60)
    texts = pages_text(render(report, pages_per_chunk=2))
    total = pdf.page_count(60)
    assert len(texts) == total == 4
    for number, text in enumerate(texts, start=1):
        assert "Voorbeeld Uitzend B.V." in text
        assert f"Pagina {number} van {total}" in text
        assert "Overzicht PE-voortgang" in text and "28-11-2026 12:00" in text   # Amsterdam time
    assert "Samenvatting" in texts[0] and "Professionals met een geldige toestemming 60" in texts[0]
    for text in texts[1:]:
        assert "Naam PE-nummer PE-periode Punten Voortgang Dossier ingediend Toestemming tot" in text
    body = " ".join(texts[1:])
    assert "Professional 00001 PE-000001 01-01-2025 – 31-12-2027 1 / 60 2% nee 31-12-2027" in body
    assert "Professional 00000 PE-000000 01-01-2025 – 31-12-2027 0,5 / 60 1% nee geen einddatum" in body
    assert "Professional 00003 PE-000003 geen gegevens 31-12-2027" in body
    assert "01-06-2026" in body   # a submitted renewal dossier shows its date
    assert all(f"Professional {i:05d}" in body for i in range(60))


def test_english_words_and_iso_dates(make_report):
    texts = pages_text(render(make_report(3, language=Language.EN)))
    assert "Page 1 of 2" in texts[0] and "Page 2 of 2" in texts[1]
    assert "Name PE number PE period Points Progress Dossier submitted Consent until" in texts[1]
    assert "2025-01-01 – 2027-12-31" in texts[1] and "no end date" in texts[1]


def test_an_empty_report_is_one_page_that_says_so(make_report):
    texts = pages_text(render(make_report(0)))
    assert len(texts) == 1 and "Pagina 1 van 1" in texts[0]
    assert "Er zijn geen professionals met een geldige toestemming" in texts[0]


def test_long_names_are_cut_with_an_ellipsis_and_stay_on_one_line(make_report):
    long = "Wilhelmina Johanna Maria van den Berg-Oosterhuis de Vries tot Nijenrode"
    texts = pages_text(render(make_report(2, names=[long, "Kort"])))
    shown = re.search(r"(Wilhelmina[^…]*)… PE-000000", texts[1])
    assert shown and len(shown.group(1)) > 25 and long not in texts[1]
    assert len(texts) == 2


def test_chunks_from_worker_processes_number_their_pages_from_the_right_offset(make_report):
    report = make_report(160)   # 1 + 7 pages in chunks of 3 pages
    pool = PdfPool(2, start_method="spawn")
    try:
        data = render(report, pool=pool, pages_per_chunk=3)
    finally:
        pool.close()
    texts = pages_text(data)
    assert len(texts) == 8
    assert [re.search(r"Pagina (\d+) van (\d+)", t).groups() for t in texts] == [(str(n), "8") for n in range(1, 9)]
    assert all(f"Professional {i:05d}" in " ".join(texts) for i in range(160))


SPACE_PT = 8 * 651 / 2048   # DejaVu Sans' space at 8 pt
NAMES = {
    "plain": "Anna de Vries",
    "emoji": "Anna \U0001F600 de Vries",
    "family": "Familie \U0001F468\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 Jansen",
    "flag": "\U0001F1F3\U0001F1F1 Piet Smit",
    "skin tone": "Duim \U0001F44D\U0001F3FD Bakker",
    "arabic": "\u0645\u062d\u0645\u062f \u0627\u0644\u0639\u0645\u0631\u064a",
    "hebrew": "\u05d3\u05d5\u05d3 \u05dc\u05d5\u05d9",
    "mixed": "Ahmed \u0645\u062d\u0645\u062f Jansen",
    "overriding": "\u202eEvil\u202c Override",
    "accents": "Zo\u00eb \u00c7elik-\u0150rs",
    "long emoji": "\U0001F600" * 40,
}


def glyphs(data: bytes, page_number: int) -> list[LTChar]:
    """Every glyph on a page, with where pdfminer.six reads it: x0, and the baseline in matrix[5]."""
    def walk(item):
        if isinstance(item, LTChar):
            yield item
        elif isinstance(item, LTContainer):
            for child in item:
                yield from walk(child)
    return list(walk(list(extract_pages(io.BytesIO(data), page_numbers=[page_number - 1]))[0]))


def rows_by_baseline(chars: list[LTChar]) -> dict[float, list[LTChar]]:
    """The glyphs in lines, left to right: a glyph joins the line whose baseline is within 2 pt of its own."""
    rows: dict[float, list[LTChar]] = {}
    for char in sorted(chars, key=lambda c: -c.matrix[5]):
        near = next((b for b in rows if abs(b - char.matrix[5]) <= 2), None)
        rows.setdefault(char.matrix[5] if near is None else near, []).append(char)
    return {baseline: sorted(row, key=lambda c: c.x0) for baseline, row in rows.items()}


def test_columns_line_up_and_every_name_renders_in_its_order(make_report):
    names = list(NAMES.values())
    report = make_report(len(names), names=names)
    data = render(report)
    rows = rows_by_baseline(glyphs(data, 2))
    titles = pdf_labels(Language.NL.value)
    header = next(row for row in rows.values() if "".join(c.get_text() for c in row).startswith(titles["name"]))
    header_text = "".join(c.get_text() for c in header)
    column_x = {name: header[header_text.index(titles[name])].x0 for name, _ in pdf.COLUMNS}
    # The number column is known by its text; each row's other fields share its baseline.
    numbers = {}
    for baseline, row in rows.items():
        text = "".join(c.get_text() for c in row)
        match = re.search(r"PE-0000(\d\d)", text)
        if match:
            numbers[int(match.group(1))] = baseline
    assert sorted(numbers) == list(range(len(names)))
    starts = [x for _, x in sorted(column_x.items(), key=lambda item: item[1])] + [10_000]
    pitch = numbers[0] - numbers[1]
    for index, kind in enumerate(NAMES):
        baseline = numbers[index]
        assert abs(numbers[0] - index * pitch - baseline) <= 1, kind   # rows evenly spaced
        row = rows[baseline]
        assert all(abs(c.matrix[5] - baseline) <= 1 for c in row), kind   # one baseline across the row
        for left, right in zip(starts, starts[1:]):
            field = [c for c in row if left - 6 <= c.x0 < right - 6 and c.get_text().strip()]
            if not field:   # a row without PE data leaves the period and points empty
                continue
            # The progress column's text follows its bar (96 px) and a space, or has no bar.
            after_bar = left + pdf.BAR_PX * 0.75 + SPACE_PT if left == column_x["progress"] else left
            assert min(abs(field[0].x0 - left), abs(field[0].x0 - after_bar)) <= 1, (kind, left, field[0].x0)
        name = [c for c in row if c.x0 < column_x["number"] - 6]
        shown = "".join(c.get_text() for c in name)
        assert name[-1].x1 <= column_x["number"] - 5, kind   # cut inside its column
        if kind in ("arabic", "hebrew"):
            assert shown == NAMES[kind][::-1], kind   # drawn right to left: the first word rightmost
        elif kind == "mixed":
            assert shown == "Ahmed \u062f\u0645\u062d\u0645 Jansen"
        elif kind == "overriding":
            assert shown == "Evil Override"   # a name's bidi override reorders nothing
        elif kind == "long emoji":
            assert shown.endswith("\u2026") and len(shown) < 40
        else:
            assert shown == NAMES[kind], kind
    emoji = [c for c in rows[numbers[1]] if c.get_text() == "\U0001F600"]
    family = [c for c in rows[numbers[2]] if "\u200d" in c.get_text()]
    assert emoji and "Emoji" in emoji[0].fontname   # drawn by a font that has it, not as a missing glyph
    assert len(family) == 1 and family[0].get_text() == NAMES["family"].split()[1]   # one glyph, the family


def test_fit_cuts_between_clusters_to_the_width():
    font = pdf.metrics()
    cut = pdf.fit("x" * 200, 100)
    assert cut.endswith("…") and font.width(cut, pdf.BODY_PX) <= 100
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    cut = pdf.fit(family * 30, 100)
    assert cut.endswith("…") and cut[:-1] == family * (len(cut[:-1]) // len(family))   # whole sequences only
    assert pdf.fit("Zo\u0065\u0308 " * 30, 60).count("\u0308") == pdf.fit("Zo\u0065\u0308 " * 30, 60).count("e")


def test_clean_text_keeps_joiners_and_drops_controls():
    assert pdf.clean_text("kort\tmet\ntab") == "kort met tab"
    assert pdf.clean_text("\U0001F468\u200d\U0001F469") == "\U0001F468\u200d\U0001F469"
    assert pdf.clean_text("\u202eEvil\u202c") == "Evil"
