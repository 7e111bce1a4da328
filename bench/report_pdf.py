"""report_pdf: the overview report as PDF for 1,000 and 10,000 professionals (--quick: 200 and 1,000),
pe-insight's renderer against the plain approach, plus the XLSX report's time.

* pe: `reporting.pdf.PdfRenderer` as the service runs it: fixed-height rows of one text line each,
  pages laid out up front, rendered in chunks (PDF_PAGES_PER_CHUNK, default 40 pages) by a pool of
  PDF_WORKERS (2) processes, joined with pypdf. The pool is started and warmed before the clock starts,
  as the service keeps it for its lifetime; its start-up is reported apart (`pool_start_s`).
* plain (the anchor): one WeasyPrint document with one <table> row per professional, the same
  columns, data and progress bars, the header row repeated by <thead>, 'Pagina X van Y' from
  counter(page) / counter(pages).

Each side runs in a subprocess of its own, with every CPU of the machine (the harness pins itself
to one CPU; the subprocess undoes that, the pool needs both cores). Peak memory: for plain the
process's ru_maxrss; for pe the sum of the peak RSS (VmHWM) of the process and each of its worker
processes, an upper bound of what they held at once. The XLSX report (XlsxWriter, constant_memory)
is timed in-process of its subprocess too. Growth ratios are time at the large size over time at
the small one (10 means linear).
"""
from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import date, datetime, timezone

from bench.harness import REPO_ROOT, Comparison, Side, Target, benchmark, proc_stat

FULL, QUICK = (1_000, 10_000), (200, 1_000)
SUBJECT, ANCHOR = "pe", "plain"
TARGET_SPEEDUP = 3.5
MEMORY_LIMIT_BYTES = 600 * 1024 * 1024
SIDE_TIMEOUT_S = 900


# --------------------------------------------------------------------------- the data


def synthetic_report(count: int):
    """A deterministic report of `count` professionals, every kind of row included."""
    from reporting.domain import (Language, OverviewReport, Progress, ReportRow, local_date, progress_percent,
                                  progress_status, summarise)
    rnd = random.Random(count)
    first = ["Anna", "Bram", "Chantal", "Daan", "Eva", "Fatima", "Gijs", "Hanna", "Ibrahim", "Joost",
             "Wilhelmina Johanna", "Zoë"]
    last = ["de Vries", "Jansen", "van den Berg-Oosterhuis", "Bakker", "Visser", "El Amrani", "Smit",
            "van der Meulen tot Nijenrode", "Çelik", "Meijer"]
    now = datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc)
    rows = []
    for i in range(count):
        start = date(2024 + i % 3, 1, 1)
        record = None if i % 17 == 3 else Progress(
            f"PE-{i:07d}", start, date(start.year + 2, 12, 31), 60.0, float(rnd.randint(0, 70)) + (0.5 if i % 5 else 0),
            date(2026, 3, 1) if i % 13 == 0 else None)
        rows.append(ReportRow(f"00000000-0000-4000-8000-{i:012d}", f"{rnd.choice(first)} {rnd.choice(last)}",
                              f"PE-{i:07d}", record, progress_percent(record) if record else None,
                              progress_status(record, local_date(now)),
                              None if i % 3 == 0 else date(2027, 12, 31), f"c-{i}"))
    rows.sort(key=lambda r: (r.display_name.casefold(), r.pe_registration_number))
    return OverviewReport("bench-report", "bench-organisation", "Uitzendbureau Voorbeeld & Zonen B.V.", now, 123456,
                          Language.NL, tuple(rows), summarise(rows))


# --------------------------------------------------------------------------- the plain approach

PLAIN_CSS = """
@page { size: A4 landscape; margin: 24mm 12mm 14mm 12mm;
  @top-left { content: string(organisation); font: bold 12pt "DejaVu Sans"; }
  @top-right { content: string(generated); font: 8pt "DejaVu Sans"; }
  @bottom-right { content: "Pagina " counter(page) " van " counter(pages); font: 8pt "DejaVu Sans"; } }
html { font-family: "DejaVu Sans"; font-size: 8pt; }
body { margin: 0; }
.organisation { string-set: organisation content(); font-weight: bold; }
.generated { string-set: generated content(); }
h1 { font-size: 14pt; }
table.rows { table-layout: fixed; width: 100%; border-collapse: collapse; }
table.rows th { text-align: left; background: #1f4e79; color: #fff; padding: 1.5mm 1mm; }
table.rows td { padding: 1mm; border-bottom: 0.2mm solid #c3ccd5; }
span.bar { display: inline-block; width: 25mm; height: 2.4mm; background: #d5dbe1; vertical-align: -0.3mm; }
span.bar > span { display: block; height: 100%; }
.on_track { background: #2e7d32; } .behind { background: #d9822b; } .dossier_submitted { background: #1f6fb2; }
"""


def plain_html(report) -> str:
    from html import escape

    from reporting.pdf import pdf_row
    from reporting.texts import STATUS_LABELS, format_moment, labels
    language = report.language.value
    words = labels(language)
    head = "".join(f"<th style='width:{w}mm'>{escape(words[k])}</th>" for k, w in (
        ("name", 66), ("number", 30), ("period", 44), ("points", 24), ("progress", 38), ("submitted", 34),
        ("valid_until", 0)))
    rows = []
    for source in report.rows:
        row = pdf_row(source, language)
        progress = (escape(row.percent_text) if row.percent is None else
                    f"<span class='bar'><span class='{row.status}' style='width:{row.percent}%'></span></span> "
                    f"{escape(row.percent_text)}")
        rows.append(f"<tr><td>{escape(row.name)}</td><td>{escape(row.number)}</td><td>{escape(row.period)}</td>"
                    f"<td>{escape(row.points)}</td><td>{progress}</td><td>{escape(row.submitted)}</td>"
                    f"<td>{escape(row.valid_until)}</td></tr>")
    summary = report.summary
    statuses = STATUS_LABELS[language]
    counts = "".join(f"<li>{escape(statuses[s])}: {getattr(summary, s.value)}</li>" for s in statuses)
    return (f"<!DOCTYPE html><html lang='{language}'><head><meta charset='utf-8'><style>{PLAIN_CSS}</style></head>"
            f"<body><div class='organisation'>{escape(report.organisation_name)}</div>"
            f"<div class='generated'>{escape(words['generated'])} {format_moment(report.generated_at, language)}</div>"
            f"<h1>{escape(words['summary'])}</h1><p>{escape(words['professionals'])}: {summary.professionals}</p>"
            f"<ul>{counts}</ul><table class='rows'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
            f"</table></body></html>")


# --------------------------------------------------------------------------- one side, in its own process


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(proc_stat(entry)[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _peak_rss_bytes(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _run_side(side: str, count: int) -> dict:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))   # undo the harness's pinning for this process
    import logging
    logging.disable(logging.WARNING)
    from reporting import pdf
    from reporting.xlsx import XlsxRenderer
    report = synthetic_report(count)
    figures: dict[str, float] = {}
    if side == "xlsx":
        started = time.perf_counter()
        size = sum(len(piece) for piece in XlsxRenderer().render(report))
        figures.update(seconds=time.perf_counter() - started, bytes=size,
                       peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    elif side == SUBJECT:
        from reporting import config
        settings = config.load()   # PDF_WORKERS, PDF_PAGES_PER_CHUNK as the service reads them
        workers = settings.pdf_workers
        pool = pdf.PdfPool(workers)
        started = time.perf_counter()
        list(pool.map(_noop, range(workers * 2)))   # start and warm the workers
        figures["pool_start_s"] = time.perf_counter() - started
        renderer = pdf.PdfRenderer(pool=pool, pages_per_chunk=settings.pdf_pages_per_chunk)
        started = time.perf_counter()
        data = b"".join(renderer.render(report))
        figures["seconds"] = time.perf_counter() - started
        family = _descendants(os.getpid())
        figures["peak_rss_bytes"] = _peak_rss_bytes() + sum(_peak_rss_bytes(p) for p in family if _alive(p))
        figures["processes"] = 1 + len(family)
        pool.close()
        figures["chunk_pages"] = renderer.chunk_pages(pdf.page_count(count))
        figures["workers"] = workers
        figures["bytes"] = len(data)
        figures["pages"] = _pages(data)
    else:
        from weasyprint import HTML
        from weasyprint.text.fonts import FontConfiguration
        HTML(string="<p>warm</p>").write_pdf(font_config=FontConfiguration())
        started = time.perf_counter()
        data = HTML(string=plain_html(report)).write_pdf()
        figures["seconds"] = time.perf_counter() - started
        figures["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        figures["bytes"] = len(data)
        figures["pages"] = _pages(data)
    return figures


def _noop(_):
    from reporting import pdf
    pdf.warm_up()
    return os.getpid()


def _alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}/status")


def _pages(data: bytes) -> int:
    import io

    from pypdf import PdfReader
    return len(PdfReader(io.BytesIO(data)).pages)


def measure(side: str, count: int) -> dict:
    """Run one side in a fresh interpreter; answers its figures."""
    done = subprocess.run([sys.executable, "-m", "bench.report_pdf", side, str(count)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=SIDE_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"{side} at {count} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the benchmark


@benchmark("report_pdf", "overview report PDF for 1k/10k professionals: chunked pages in 2 processes vs "
                         "one WeasyPrint document; XLSX time")
def report_pdf(quick: bool) -> Comparison:
    small, large = QUICK if quick else FULL
    runs: dict[tuple[str, int], dict] = {}
    for count in (small, large):
        for side in ((SUBJECT, ANCHOR) if count == small else (ANCHOR, SUBJECT)):
            print(f"  {side} at {count:,} professionals ...", flush=True)
            runs[side, count] = measure(side, count)
        print(f"  xlsx at {count:,} rows ...", flush=True)
        runs["xlsx", count] = measure("xlsx", count)

    def side_figures(side: str) -> dict[str, float]:
        figures = {}
        for count in (small, large):
            figures[f"pdf_{count}_s"] = runs[side, count]["seconds"]
            figures[f"pdf_{count}_peak_rss_bytes"] = runs[side, count]["peak_rss_bytes"]
        figures["pdf_growth_large_over_small"] = runs[side, large]["seconds"] / runs[side, small]["seconds"]
        return figures

    ours, plain = side_figures(SUBJECT), side_figures(ANCHOR)
    for count in (small, large):
        ours[f"xlsx_{count}_s"] = runs["xlsx", count]["seconds"]
        ours[f"xlsx_{count}_peak_rss_bytes"] = runs["xlsx", count]["peak_rss_bytes"]
    ours["xlsx_growth_large_over_small"] = runs["xlsx", large]["seconds"] / runs["xlsx", small]["seconds"]
    speedup = {count: runs[ANCHOR, count]["seconds"] / runs[SUBJECT, count]["seconds"] for count in (small, large)}
    ours_peak = runs[SUBJECT, large]["peak_rss_bytes"]
    return Comparison(
        subject=Side(SUBJECT, ours), anchor=Side(ANCHOR, plain), headline=f"pdf_{large}_s",
        target=Target(f"pdf_{large}_s", "<=", round(1 / TARGET_SPEEDUP, 4),
                      why=f"at least {TARGET_SPEEDUP}x faster than one WeasyPrint document"),
        parameters={"professionals": [small, large], "pdf_workers": runs[SUBJECT, large]["workers"],
                    "pages_per_chunk": runs[SUBJECT, large]["chunk_pages"],
                    "rows_per_page": 25, "each_side": "its own subprocess, all CPUs"},
        details={
            "speedup_plain_over_pe": {str(k): round(v, 2) for k, v in speedup.items()},
            "pe_peak_rss_mb_at_large": round(ours_peak / 2**20, 1),
            "pe_peak_under_600_mb": ours_peak < MEMORY_LIMIT_BYTES,
            "runs": {f"{side}_{count}": figures for (side, count), figures in runs.items()},
        },
        notes=[
            "pe = reporting.pdf.PdfRenderer with a PdfPool of 2 processes, warmed before timing (the service keeps "
            "its pool); pool_start_s in details is what a cold first report adds.",
            "plain = one WeasyPrint document, a <table> row per professional with the same columns, data and "
            "progress bars, thead repeated, counter(page)/counter(pages) footer.",
            "pe peak memory is the sum of the peak RSS of the process and its workers (an upper bound); plain's is "
            "its ru_maxrss.",
            "The machine may be shared: compare the two sides of one run, not absolute figures across runs.",
        ],
    )


if __name__ == "__main__":
    side_name, rows = sys.argv[1], int(sys.argv[2])
    print(json.dumps(_run_side(side_name, rows)))
