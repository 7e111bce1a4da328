"""The PDF report read back with pypdf: page head, organisation, 'Pagina X van Y', header row on every
page, the rows, and columns that line up whether rendered here or in chunks by worker processes."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from reporting import pdf
from reporting.domain import Language
from reporting.pdf import PdfPool, PdfRenderer

SPACES = re.compile(r"[\s\u2000-\u200a]+")


def pages_text(data: bytes) -> list[str]:
    return [SPACES.sub(" ", page.extract_text()) for page in PdfReader(io.BytesIO(data)).pages]


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


@pytest.mark.parametrize("text", ["Ab", "Wij zijn Ωmega", "iiii", "WWWWWWW", "Émile Zoë Çelik"])
def test_fills_put_each_column_within_half_a_pixel_of_its_start(text):
    font = pdf.metrics(False)
    line = pdf.Line(font, pdf.BODY_PX)
    line.add(text)
    for _, start in pdf.COLUMNS[1:]:
        line.move_to(start)
        assert abs(line.x_px - start) <= 0.6
        line.add(text)


def test_fit_cuts_to_the_width():
    font = pdf.metrics(False)
    cut = pdf.fit("x" * 200, 100, font, pdf.BODY_PX)
    assert cut.endswith("…") and font.width(cut, pdf.BODY_PX) <= 100
    assert pdf.fit("kort\tmet\ntab", 100, font, pdf.BODY_PX) == "kort met tab"
