"""The overview report as PDF (WeasyPrint), fast enough for ten thousand professionals.

One WeasyPrint document with a table row per professional costs about 7 ms a row on one core and
grows to gigabytes at 10,000 rows. What makes it several times faster and small:

* Pages are laid out here, not by WeasyPrint: rows have a fixed height (names are cut to fit
  with an ellipsis, nothing wraps), so rows per page and the page count are known up front.
  Each page is a fixed-height block holding the page head, the table's header row (a <thead>),
  its rows and the footer 'Pagina X van Y', numbered here.
* A page's rows are two blocks of pre-formatted lines, a line per row, rather than table cells,
  which WeasyPrint lays out several times more cheaply: the names, and beside them everything
  else. A name may hold anything (emoji, right-to-left script, glyphs of fallback fonts), so it
  has a block of its own at the name column, and no name moves another column. The other fields
  are texts pe-insight writes itself (PE numbers, dates, figures, in DejaVu Sans); their columns
  are placed by filling the space between fields with em, en and hair spaces whose advance widths
  are read from the very font file that renders them (kerning and ligatures off), so each field
  starts within half a pixel of its column, under the <thead> cells whose widths are those
  columns. Texts are cut to their column between grapheme clusters, counting a glyph of a fallback
  font generously, and a block clips with an ellipsis (text-overflow) whatever the estimate lets
  through. Zebra stripes are one repeated 1x2 pixel image per page.
* The pages are rendered in chunks (PDF_PAGES_PER_CHUNK, 40 by default, evened out so each worker
  gets the same number) as separate small documents, in a pool of worker processes (PDF_WORKERS),
  each chunk knowing its page numbers and the total. The server joins the chunk PDFs with pypdf
  as they arrive, in order.
"""
from __future__ import annotations

import base64
import functools
import io
import itertools
import logging
import math
import os
import struct
import subprocess
import threading
import unicodedata
import warnings
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import regex

from reporting.domain import OverviewReport, ProgressStatus, ReportRow
from reporting.texts import (STATUS_LABELS, format_date, format_moment, format_number, format_percent,
                             labels)
from svckit.logs import get_logger

log = get_logger(__name__)


class _QuietSubsetting(logging.Filter):
    """WeasyPrint says, for every document, that it subsets fonts with fontTools because the
    system lacks HarfBuzz-Subset (libharfbuzz-subset0); once at start is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "HarfBuzz-Subset" not in record.getMessage()


logging.getLogger("weasyprint").addFilter(_QuietSubsetting())

CONTENT_TYPE = "application/pdf"
ROWS_PER_PAGE = 25
ROW_MM = 6.2
BAR_PX = 96
FIELD_GAP_PX = 8
# Column starts in CSS px from the start of a row's text; the line is 1020 px (270 mm) wide.
COLUMNS = (("name", 0), ("number", 244), ("period", 360), ("points", 528), ("progress", 624),
           ("submitted", 772), ("valid_until", 888))
LINE_PX = 1020
ROW_PADDING_PX = 4
PX_PER_PT = 96 / 72
BODY_PX = 8 * PX_PER_PT
FONT_PATTERN = "DejaVu Sans:style=Book"
FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf")
EM_SPACE, EN_SPACE, HAIR_SPACE, ELLIPSIS = "\u2003", "\u2002", "\u200a", "\u2026"
STATUS_COLOURS = {"on_track": "#2e7d32", "behind": "#d9822b", "dossier_submitted": "#1f6fb2",
                  "no_data": "#9aa5b1"}


# --------------------------------------------------------------------------- text


class FontMetrics:
    """Advance widths of one font file, to cut a text before it reaches its column's edge.

    A character the font lacks is drawn by a fallback font (Noto Color Emoji, Noto Sans Arabic...)
    and counted as 1.25 em, a little over an emoji's advance, so that a cut text fits; a cluster (an
    emoji sequence, a letter with its accents) counts as its first character, since it is drawn as
    one glyph or as marks on it. Where the estimate errs, the column clips with an ellipsis anyway.
    """

    MISSING_EM = 1.25

    def __init__(self, path: str | None):
        self.path = path
        self._advances: dict[int, int] = {}
        self.units_per_em = 2048
        if path:
            from fontTools.ttLib import TTFont
            font = TTFont(path, lazy=True)
            self.units_per_em = font["head"].unitsPerEm
            metrics = font["hmtx"].metrics
            self._advances = {cp: metrics[glyph][0] for cp, glyph in font.getBestCmap().items()}
            font.close()
        self._missing = int(self.units_per_em * self.MISSING_EM)

    def units(self, text: str) -> int:
        return sum(self._cluster_units(cluster) for cluster in _CLUSTER.findall(text))

    def _cluster_units(self, cluster: str) -> int:
        if not self._advances:  # no font file found: a generous estimate
            return int(self.units_per_em * 0.62)
        return self._advances.get(ord(cluster[0]), self._missing)

    def width(self, text: str, size_px: float) -> float:
        return self.units(text) * size_px / self.units_per_em


_CLUSTER = regex.compile(r"\X")   # extended grapheme clusters: what a reader takes for one character


def _font_file() -> str | None:
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", FONT_PATTERN], capture_output=True, text=True,
                               timeout=5).stdout.strip()
        if found and os.path.exists(found) and "DejaVuSans" in os.path.basename(found):
            return found
    except (OSError, subprocess.SubprocessError):
        pass
    return next((path for path in FONT_PATHS if os.path.exists(path)), None)


@functools.cache
def metrics() -> FontMetrics:
    path = _font_file()
    if path is None:
        log.warning("DejaVu Sans not found; PDF texts are cut by estimate")
    return FontMetrics(path)


# Bidi embeddings, overrides and isolates from a name would reorder what follows them on its line.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_text(text: str) -> str:
    """One line of printable text: control characters and line breaks become spaces. Format
    characters stay (the zero-width joiner of an emoji sequence, the tags of a flag, the ZWNJ of a
    Persian name), except the bidi controls."""
    return "".join(" " if unicodedata.category(c)[0] in "CZ" and unicodedata.category(c) != "Cf" else c
                   for c in text if c not in _BIDI_CONTROLS).strip()


def fit(text: str, max_px: float, font: FontMetrics | None = None, size_px: float = BODY_PX) -> str:
    """The text, cut between clusters with an ellipsis where it would be wider than max_px."""
    font = font or metrics()
    text = clean_text(text)
    if font.width(text, size_px) <= max_px:
        return text
    limit = max_px * font.units_per_em / size_px - font.units(ELLIPSIS)
    used, kept = 0, []
    for cluster in _CLUSTER.findall(text):
        used += font.units(cluster)
        if used > limit:
            break
        kept.append(cluster)
    return "".join(kept).rstrip() + ELLIPSIS


class Line:
    """Builds one row's text run, field by field, tracking where the pen is (in font units)."""

    def __init__(self, font: FontMetrics, size_px: float, start_px: float = 0.0):
        self.font, self.size_px = font, size_px
        self.scale = font.units_per_em / size_px
        self.x = start_px * self.scale
        self.parts: list[str] = []
        self._em, self._en, self._hair = font.units(EM_SPACE), font.units(EN_SPACE), font.units(HAIR_SPACE)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.x += self.font.units(text)

    def move_to(self, target_px: float) -> None:
        """Fill with em, en and hair spaces up to target_px (to within half a hair space)."""
        gap = target_px * self.scale - self.x
        if gap <= 0:
            self.add(" ")
            return
        ems, rest = divmod(gap, self._em)
        ens, rest = divmod(rest, self._en)
        hairs = int(round(rest / self._hair))
        self.add(EM_SPACE * int(ems) + EN_SPACE * int(ens) + HAIR_SPACE * hairs)

    @property
    def x_px(self) -> float:
        return self.x / self.scale

    def text(self) -> str:
        return "".join(self.parts)


# --------------------------------------------------------------------------- pages and chunks


@dataclass(frozen=True)
class PdfRow:
    """A report row as the PDF shows it: its texts, the bar's percentage and the status."""
    name: str
    number: str
    period: str
    points: str
    percent: int | None      # None: no PE data, no bar
    percent_text: str
    status: str
    submitted: str
    valid_until: str


@dataclass(frozen=True)
class ChunkJob:
    """Pages first_page .. first_page + len(pages) - 1 of a document of total_pages pages."""
    language: str
    organisation_name: str
    generated: str
    log_position: int
    report_id: str
    total_pages: int
    first_page: int
    pages: tuple[tuple[PdfRow, ...], ...]   # an empty tuple for page 1 is the summary page
    summary: dict | None = None


def pdf_row(row: ReportRow, language: str) -> PdfRow:
    words = labels(language)
    record = row.progress
    if record is None:
        return PdfRow(row.display_name, row.pe_registration_number, "", "", None,
                      STATUS_LABELS[language][ProgressStatus.NO_DATA], row.status.value, "",
                      format_date(row.valid_until, language) if row.valid_until else words["no_end_date"])
    return PdfRow(
        name=row.display_name, number=row.pe_registration_number,
        period=f"{format_date(record.period_start, language)} \u2013 {format_date(record.period_end, language)}",
        points=f"{format_number(record.points_earned, language)} / {format_number(record.points_required, language)}",
        percent=max(0, min(100, int(round(row.percent or 0)))), percent_text=format_percent(row.percent or 0, language),
        status=row.status.value,
        submitted=(format_date(record.renewal_submitted_date, language) if record.renewal_submitted_date
                   else words["not_submitted"]),
        valid_until=format_date(row.valid_until, language) if row.valid_until else words["no_end_date"])


def page_count(rows: int) -> int:
    """The summary page and the table's pages."""
    return 1 + math.ceil(rows / ROWS_PER_PAGE)


def chunk_jobs(report: OverviewReport, pages_per_chunk: int) -> list[ChunkJob]:
    language = report.language.value
    rows = [pdf_row(row, language) for row in report.rows]
    pages: list[tuple[PdfRow, ...]] = [()]
    pages += [tuple(rows[i:i + ROWS_PER_PAGE]) for i in range(0, len(rows), ROWS_PER_PAGE)]
    common = dict(language=language, organisation_name=clean_text(report.organisation_name),
                  generated=format_moment(report.generated_at, language), log_position=report.log_position,
                  report_id=report.report_id, total_pages=len(pages))
    return [ChunkJob(first_page=start + 1, pages=tuple(pages[start:start + pages_per_chunk]),
                     summary=report.summary.as_dict() if start == 0 else None, **common)
            for start in range(0, len(pages), pages_per_chunk)]


# --------------------------------------------------------------------------- rendering (worker side)


def _columns_px() -> dict[str, tuple[float, float]]:
    """Each column's start, from the start of the name, and the widest its text may be."""
    starts = [start for _, start in COLUMNS] + [LINE_PX]
    return {name: (start, starts[i + 1] - start - FIELD_GAP_PX) for i, (name, start) in enumerate(COLUMNS)}


def _blocks_px() -> list[tuple[str, float, float]]:
    """The two blocks of a page's rows: the names, and the other fields from the number column on;
    each its name, left edge and width."""
    columns = _columns_px()
    rest = columns["number"][0]
    return [("names", ROW_PADDING_PX, columns["name"][1]), ("fields", rest + ROW_PADDING_PX, LINE_PX - rest)]


def row_line(row: PdfRow) -> tuple[str, str, str | None]:
    """The row's name; its other fields before the progress bar; and after it (None: no bar).
    The fields' line starts at the number column."""
    font, columns = metrics(), _columns_px()
    offset = columns["number"][0]
    line = Line(font, BODY_PX)
    for name, value in (("number", row.number), ("period", row.period), ("points", row.points)):
        start, width = columns[name]
        if start > offset:
            line.move_to(start - offset)
        line.add(fit(value, width, font))
    start, width = columns["progress"]
    line.move_to(start - offset)
    if row.percent is None:
        line.add(fit(row.percent_text, width, font))
        before, after = line, line
    else:
        before = line
        after = Line(font, BODY_PX, start_px=line.x_px + BAR_PX)
        after.add(" " + row.percent_text)
    for name, value in (("submitted", row.submitted), ("valid_until", row.valid_until)):
        start, width = columns[name]
        after.move_to(start - offset)
        after.add(fit(value, width, font))
    name = fit(row.name, columns["name"][1], font)
    return name, before.text(), (None if after is before else after.text())


def _stripes_uri() -> str:
    """A PNG of one white and one light grey pixel, one above the other, as a data URI."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    pixels = zlib.compress(b"\x00\xff\xff\xff\x00\xee\xf2\xf6")
    image = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 2, 8, 2, 0, 0, 0))
             + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(image).decode()


@functools.cache
def _templates():
    from jinja2 import Environment, PackageLoader, select_autoescape
    environment = Environment(loader=PackageLoader("reporting", "templates"),
                              autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("overview.html"), environment.get_template("overview.css").render(
        columns=_column_widths(), blocks=_blocks_px(), bar_px=BAR_PX, row_padding_px=ROW_PADDING_PX,
        rows_per_page=ROWS_PER_PAGE, row_mm=ROW_MM, stripes=_stripes_uri())


def _column_widths() -> list[tuple[str, int]]:
    """The header cells' widths: each starts where its column does, so that its title and the
    column's text start at the same place; the last one reaches the rows' right edge."""
    starts = [start for _, start in COLUMNS] + [LINE_PX]
    widths = [starts[i + 1] - starts[i] for i in range(len(COLUMNS))]
    widths[-1] += ROW_PADDING_PX
    return [(name, width) for (name, _), width in zip(COLUMNS, widths)]


@functools.cache
def _weasyprint():
    with warnings.catch_warnings():  # the HarfBuzz-Subset notice, given on import
        warnings.simplefilter("ignore", DeprecationWarning)
        from weasyprint import HTML
        from weasyprint.text.fonts import FontConfiguration
    return HTML, FontConfiguration


@functools.cache
def _font_config():
    return _weasyprint()[1]()


def _url_fetcher():
    """Fetches data: URLs and nothing else: whatever a report holds, rendering it reads nothing from
    the network or the disk (the report's own images are data: URLs; fonts come from fontconfig).
    One per document: a fetcher keeps state between its calls."""
    from weasyprint.urls import URLFetcher
    return URLFetcher(allowed_protocols=("data",), allow_redirects=False)


def html_to_pdf(html: str) -> bytes:
    """A page of the report as PDF, with the report's stylesheet."""
    HTML = _weasyprint()[0]
    return HTML(string=html, url_fetcher=_url_fetcher()).write_pdf(stylesheets=[_stylesheet()],
                                                                  font_config=_font_config())


@functools.cache
def _stylesheet():
    """The report's CSS, parsed once per process: parsing it for every chunk costs as much as a page."""
    from weasyprint import CSS
    return CSS(string=_templates()[1], font_config=_font_config(), url_fetcher=_url_fetcher())


def _chart(summary: dict, language: str) -> list[dict]:
    names = STATUS_LABELS[language]
    bars = [(ProgressStatus.ON_TRACK, summary["on_track"]), (ProgressStatus.BEHIND, summary["behind"]),
            (ProgressStatus.DOSSIER_SUBMITTED, summary["dossier_submitted"]),
            (ProgressStatus.NO_DATA, summary["no_data"])]
    top = max([count for _, count in bars] + [1])
    total = max(summary["professionals"], 1)
    return [{"status": status.value, "label": names[status], "count": count,
             "share": format_percent(count / total * 100, language), "width": round(count / top * 100, 2)}
            for status, count in bars]


def render_chunk(job: ChunkJob) -> bytes:
    """One chunk of pages as a PDF of its own (runs in a worker process)."""
    template = _templates()[0]
    words = labels(job.language)
    pages = []
    for offset, rows in enumerate(job.pages):
        number = job.first_page + offset
        page = {"number": number, "label": words["page"].format(page=number, pages=job.total_pages)}
        if number == 1:
            page["summary"] = job.summary
            page["chart"] = _chart(job.summary, job.language)
        else:
            page["rows"] = [dict(zip(("name", "before", "after"), row_line(row)), percent=row.percent,
                                 status=row.status) for row in rows]
        pages.append(page)
    html = template.render(job=job, words=words, pages=pages, columns=_column_widths(), colours=STATUS_COLOURS,
                           newline="\n")
    return html_to_pdf(html)


def warm_up() -> None:
    """Load the font metrics, templates and WeasyPrint in a fresh worker before the first report."""
    metrics(), _templates(), _stylesheet()


def start_worker(service_alive) -> None:
    """A pool worker's first steps: end with the service, then warm up.

    `service_alive` is the reading end of a pipe whose writing end only the service holds, so it
    reads end-of-file the moment the service ends, however it ends (a SIGKILL included). A worker
    is a child of the fork server, not of the service, and the fork server lives as long as any
    worker does, so neither would notice otherwise; they would hold the service's output open
    (and honcho, under `make run`, would wait for it).
    """
    threading.Thread(target=_exit_when_closed, args=(service_alive,), name="service-watch", daemon=True).start()
    warm_up()


def _exit_when_closed(service_alive) -> None:
    try:
        service_alive.recv_bytes()  # nothing is ever sent: this returns or raises at end-of-file
    except (EOFError, OSError):
        pass
    os._exit(1)


# --------------------------------------------------------------------------- joining (server side)


def join(parts: Iterable[bytes], title: str) -> bytes:
    """The chunk PDFs as one document; a single chunk is already one."""
    from pypdf import PdfReader, PdfWriter
    parts = iter(parts)
    first, second = next(parts), next(parts, None)
    if second is None:
        return first
    writer = PdfWriter()
    for part in itertools.chain((first, second), parts):   # appended as the workers finish them
        writer.append(PdfReader(io.BytesIO(part)))
    writer.add_metadata({"/Title": title, "/Producer": "pe-insight reporting"})
    # Every chunk embeds the same fonts; keep one copy.
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass
class PdfRenderer:
    """Renders the overview report; chunks go to `pool` (a process pool) or run here when None."""
    pool: "PdfPool | None" = None
    pages_per_chunk: int = 40
    content_type: str = CONTENT_TYPE
    extension: str = "pdf"

    def render(self, report: OverviewReport) -> Iterator[bytes]:
        jobs = chunk_jobs(report, self.chunk_pages(page_count(len(report.rows))))
        parts = self.pool.map(render_chunk, jobs) if self.pool else map(render_chunk, jobs)
        yield join(parts, f"{labels(report.language.value)['title']} \u2013 {report.organisation_name}")

    def chunk_pages(self, pages: int) -> int:
        """Pages per chunk: at most pages_per_chunk, in a number of chunks the workers share evenly."""
        chunks = math.ceil(pages / self.pages_per_chunk)
        if self.pool is not None and chunks > 1:
            chunks = math.ceil(chunks / self.pool.workers) * self.pool.workers
        return math.ceil(pages / chunks)


@dataclass
class PdfPool:
    """A process pool for PDF chunks, made on first use and remade if a worker dies; its workers
    end with the service (start_worker). Workers are started by a fork server, or spawned: a
    forked worker would hold the writing end of the pipe it watches."""
    workers: int
    start_method: str = "forkserver"
    _executor: Executor | None = field(default=None, init=False)
    _service_alive: object = field(default=None, init=False)  # the writing end, held while the pool lives
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self):
        if self.start_method not in ("forkserver", "spawn"):
            raise ValueError(f"PDF workers are started by 'forkserver' or 'spawn', not {self.start_method!r}")

    def _pool(self) -> Executor:
        with self._lock:
            if self._executor is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor
                context = multiprocessing.get_context(self.start_method)
                if self.start_method == "forkserver":
                    context.set_forkserver_preload(["reporting.pdf"])
                watched, self._service_alive = multiprocessing.Pipe(duplex=False)
                self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                                     initializer=start_worker, initargs=(watched,))
            return self._executor

    def map(self, fn, jobs: Sequence[ChunkJob]) -> Iterator[bytes]:
        executor = self._pool()
        try:
            yield from executor.map(fn, jobs)
        except BrokenProcessPool:
            log.error("a PDF worker died; the pool is made anew")
            self.close()
            raise

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
            service_alive, self._service_alive = self._service_alive, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        if service_alive is not None:
            service_alive.close()
