"""Rendering a report fetches nothing but data: URLs: not over HTTP, not from the disk, not relative."""
from __future__ import annotations

import base64
import http.server
import io
import logging
import threading

import pytest
from pypdf import PdfReader

from reporting import pdf

pytestmark = pytest.mark.integration

# A 1x1 red PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")


@pytest.fixture
def web_server():
    """A web server on loopback that serves the PNG for any path and remembers what was asked."""
    asked = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css" if self.path.endswith(".css") else "image/png")
            self.end_headers()
            self.wfile.write(b"body { background: red }" if self.path.endswith(".css") else PNG)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def _images(document: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(document)).pages)


def test_a_report_page_loads_data_urls_only(web_server, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="weasyprint")
    base, asked = web_server
    on_disk = tmp_path / "secret.png"
    on_disk.write_bytes(PNG)
    inline = "data:image/png;base64," + base64.b64encode(PNG).decode()
    html = f"""<html><head>
        <link rel="stylesheet" href="{base}/sheet.css">
        <style>@import url("{base}/imported.css"); p {{ background: url("{base}/background.png") }}
               div {{ background: url("file://{on_disk}") }}</style>
        </head><body>
        <img src="{base}/over-http.png"> <img src="file://{on_disk}"> <img src="relative.png">
        <img src="//127.0.0.1/no-scheme.png"> <p>text</p> <div>more</div>
        <img src="{inline}">
        </body></html>"""
    document = pdf.html_to_pdf(html)
    assert asked == []                 # nothing over HTTP
    assert _images(document) == 1      # only the data: image; not the file:// one
    refused = " ".join(r.getMessage() for r in caplog.records)
    assert "disallowed protocol" in refused and str(on_disk) in refused


def test_the_report_itself_loads_its_own_data_images(make_report, caplog):
    caplog.set_level(logging.WARNING, logger="weasyprint")
    rendered = b"".join(pdf.PdfRenderer().render(make_report(30)))
    assert rendered.startswith(b"%PDF")
    assert not [r for r in caplog.records if "Failed to load" in r.getMessage()]  # the stripes loaded
