#!/usr/bin/env python3
"""pe-insight's stand-in for Mailpit, for machines without a container registry.

An SMTP sink that keeps every mail, and the part of Mailpit's HTTP API (v1) that reading mail in tests
and by hand needs, with Mailpit's field names, so that one client reads mail from either:

    GET    /api/v1/messages?start=&limit=        newest first, as MessagesSummary
    GET    /api/v1/search?query=&start=&limit=   to: from: subject: and plain words; -term excludes
    DELETE /api/v1/messages                      all, or those in {"IDs": [...]}
    DELETE /api/v1/search?query=
    GET    /api/v1/message/{ID}                  as Message (ID may be `latest`); marks it read
    GET    /api/v1/message/{ID}/raw              the mail as received
    GET    /view/{ID}.txt, /view/{ID}.html       its text or HTML part
    GET    /api/v1/info, /readyz, /livez

Settings as Mailpit's: MP_SMTP_BIND_ADDR (default 0.0.0.0:1025), MP_UI_BIND_ADDR (0.0.0.0:8025); mail is
kept as .eml files in MP_DATA_DIR (default /var/lib/mailsink), one per message, named by arrival.
`mailsink.py readyz` (also run as `/mailpit readyz`, the official image's healthcheck) exits 0 when the
HTTP side answers /readyz.

Only the standard library and aiosmtpd (Debian's python3-aiosmtpd).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

VERSION = "pe-insight-mailsink"
SNIPPET_LENGTH = 250


def bind_address(name: str, default: str) -> tuple[str, int]:
    host, _, port = os.environ.get(name, default).rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


# --- the store: one .eml file per mail -------------------------------------------------------------

class Store:
    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._count = 0
        self._read: set[str] = set()

    def add(self, content: bytes) -> str:
        with self._lock:
            self._count += 1
            # Nanoseconds first: names sort by arrival, also across restarts.
            message_id = f"{time.time_ns()}-{self._count:04d}"
        (self.folder / f"{message_id}.eml").write_bytes(content)
        return message_id

    def ids(self) -> list[str]:
        """Every message's ID, newest first."""
        return sorted((p.stem for p in self.folder.glob("*.eml")), reverse=True)

    def resolve(self, message_id: str) -> str | None:
        """The ID of a stored message, `latest` being the newest; None when there is no such message."""
        if message_id == "latest":
            ids = self.ids()
            return ids[0] if ids else None
        if re.fullmatch(r"[0-9]+-[0-9]+", message_id) and (self.folder / f"{message_id}.eml").is_file():
            return message_id
        return None

    def raw(self, message_id: str) -> bytes | None:
        resolved = self.resolve(message_id)
        try:
            return (self.folder / f"{resolved}.eml").read_bytes() if resolved else None
        except FileNotFoundError:  # deleted meanwhile
            return None

    def delete(self, ids: list[str] | None = None) -> None:
        for message_id in self.ids() if ids is None else ids:
            if re.fullmatch(r"[0-9]+-[0-9]+", message_id):
                (self.folder / f"{message_id}.eml").unlink(missing_ok=True)
                self._read.discard(message_id)

    def mark_read(self, message_id: str) -> None:
        self._read.add(message_id)

    def is_read(self, message_id: str) -> bool:
        return message_id in self._read


# --- Mailpit's JSON shapes ---------------------------------------------------------------------------

class Parsed:
    """One stored mail, parsed once, in the shapes Mailpit's API gives."""

    def __init__(self, message_id: str, raw: bytes, read: bool):
        self.id, self.raw, self.read = message_id, raw, read
        self.mail: EmailMessage = message_from_bytes(raw, policy=policy.default)
        text = self.mail.get_body(("plain",))
        html = self.mail.get_body(("html",))
        self.text = text.get_content() if text else ""
        self.html = html.get_content() if html else ""
        self.created = datetime.fromtimestamp(int(message_id.split("-")[0]) / 1e9, timezone.utc)

    def addresses(self, header: str) -> list[dict]:
        values = self.mail.get_all(header, [])
        return [{"Name": name, "Address": address} for name, address in getaddresses([str(v) for v in values])]

    def sender(self) -> dict:
        found = self.addresses("From")
        return found[0] if found else {"Name": "", "Address": ""}

    def attachments(self) -> list[dict]:
        found = []
        for number, part in enumerate(self.mail.walk(), start=1):
            if part.is_attachment():
                payload = part.get_payload(decode=True) or b""
                found.append({"PartID": str(number), "FileName": part.get_filename() or "",
                              "ContentType": part.get_content_type(), "ContentID": part.get("Content-ID", ""),
                              "Size": len(payload)})
        return found

    def date(self) -> datetime:
        try:
            return parsedate_to_datetime(str(self.mail["Date"])) if self.mail["Date"] else self.created
        except (TypeError, ValueError):
            return self.created

    def summary(self) -> dict:
        return {
            "ID": self.id, "MessageID": str(self.mail.get("Message-ID", "")).strip("<>"), "Read": self.read,
            "From": self.sender(), "To": self.addresses("To"), "Cc": self.addresses("Cc"),
            "Bcc": self.addresses("Bcc"), "ReplyTo": self.addresses("Reply-To"),
            "Subject": str(self.mail.get("Subject", "")), "Created": _rfc3339(self.created), "Tags": [],
            "Size": len(self.raw), "Attachments": len(self.attachments()),
            "Snippet": " ".join(self.text.split())[:SNIPPET_LENGTH],
        }

    def message(self) -> dict:
        return {
            "ID": self.id, "MessageID": str(self.mail.get("Message-ID", "")).strip("<>"),
            "From": self.sender(), "To": self.addresses("To"), "Cc": self.addresses("Cc"),
            "Bcc": self.addresses("Bcc"), "ReplyTo": self.addresses("Reply-To"),
            "ReturnPath": str(self.mail.get("Return-Path", "")).strip("<>"),
            "Subject": str(self.mail.get("Subject", "")), "Date": _rfc3339(self.date()), "Tags": [],
            "Text": self.text, "HTML": self.html, "Size": len(self.raw), "Inline": [],
            "Attachments": self.attachments(),
        }

    def matches(self, query: str) -> bool:
        """Mailpit's search, for the filters tests use: to:, from:, subject:, plain words, -negation."""
        fields = {
            "to": " ".join(f"{a['Name']} {a['Address']}" for a in self.addresses("To") + self.addresses("Cc")),
            "from": " ".join(f"{a['Name']} {a['Address']}" for a in self.addresses("From")),
            "subject": str(self.mail.get("Subject", "")),
        }
        everything = " ".join([*fields.values(), self.text, self.html])
        for term in shlex.split(query):
            negate = term[:1] in "-!" and len(term) > 1
            term = term[1:] if negate else term
            name, colon, value = term.partition(":")
            haystack = fields[name.lower()] if colon and name.lower() in fields else everything
            needle = value if colon and name.lower() in fields else term
            if (needle.lower() in haystack.lower()) == negate:
                return False
        return True


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- HTTP ---------------------------------------------------------------------------------------------

class Api(BaseHTTPRequestHandler):
    store: Store
    server_version = VERSION

    def do_GET(self):  # noqa: N802 (the standard library's name)
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        path = unquote(url.path)
        if path in ("/readyz", "/livez"):
            return self._text("ok")
        if path == "/api/v1/info":
            ids = self.store.ids()
            return self._json({"Version": VERSION, "Messages": len(ids),
                               "Unread": sum(not self.store.is_read(i) for i in ids), "Tags": {}})
        if path == "/api/v1/messages":
            return self._summaries(query, "")
        if path == "/api/v1/search":
            if not query.get("query"):
                return self._text("no search query", HTTPStatus.BAD_REQUEST)
            return self._summaries(query, query["query"][0])
        if match := re.fullmatch(r"/api/v1/message/([^/]+)(/raw)?", path):
            return self._message(match.group(1), raw=bool(match.group(2)))
        if match := re.fullmatch(r"/view/([^/]+)\.(txt|html)", path):
            return self._view(match.group(1), match.group(2))
        return self._text("404 page not found", HTTPStatus.NOT_FOUND)

    def do_DELETE(self):  # noqa: N802
        url = urlsplit(self.path)
        if url.path == "/api/v1/messages":
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                ids = body.get("IDs") or None
            except (ValueError, AttributeError):
                return self._text("invalid JSON body", HTTPStatus.BAD_REQUEST)
            self.store.delete(ids)
            return self._text("ok")
        if url.path == "/api/v1/search":
            query = parse_qs(url.query).get("query")
            if not query:
                return self._text("no search query", HTTPStatus.BAD_REQUEST)
            self.store.delete([m.id for m in self._parsed(self.store.ids()) if m.matches(query[0])])
            return self._text("ok")
        return self._text("404 page not found", HTTPStatus.NOT_FOUND)

    def _parsed(self, ids: list[str]) -> list[Parsed]:
        found = []
        for message_id in ids:
            raw = self.store.raw(message_id)
            if raw is not None:  # deleted meanwhile
                found.append(Parsed(message_id, raw, self.store.is_read(message_id)))
        return found

    def _summaries(self, query: dict, search: str) -> None:
        try:
            start = int(query.get("start", ["0"])[0])
            limit = int(query.get("limit", ["50"])[0])
        except ValueError:
            return self._text("start and limit must be whole numbers", HTTPStatus.BAD_REQUEST)
        ids = self.store.ids()
        try:
            matching = [m for m in self._parsed(ids) if m.matches(search)] if search else None
        except ValueError as error:  # an unclosed quote
            return self._text(f"invalid search query: {error}", HTTPStatus.BAD_REQUEST)
        page = matching[start:start + limit] if matching is not None else self._parsed(ids[start:start + limit])
        self._json({
            "total": len(ids), "unread": sum(not self.store.is_read(i) for i in ids),
            "messages_count": len(matching) if matching is not None else len(ids),
            "start": start, "tags": [], "messages": [m.summary() for m in page],
        })

    def _found(self, message_id: str) -> Parsed | None:
        resolved = self.store.resolve(message_id)
        content = self.store.raw(resolved) if resolved else None
        if content is None:
            self._text("message not found", HTTPStatus.NOT_FOUND)
            return None
        return Parsed(resolved, content, True)

    def _message(self, message_id: str, *, raw: bool) -> None:
        parsed = self._found(message_id)
        if parsed is None:
            return
        if raw:
            return self._send(parsed.raw, "text/plain; charset=utf-8")
        self.store.mark_read(parsed.id)
        self._json(parsed.message())

    def _view(self, message_id: str, kind: str) -> None:
        parsed = self._found(message_id)
        if parsed is None:
            return
        body = parsed.text if kind == "txt" else parsed.html
        if kind == "html" and not body:
            return self._text("message has no HTML part", HTTPStatus.NOT_FOUND)
        self._send(body.encode(), "text/plain; charset=utf-8" if kind == "txt" else "text/html; charset=utf-8")

    def _json(self, value) -> None:
        self._send(json.dumps(value).encode(), "application/json")

    def _text(self, text: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(text.encode(), "text/plain; charset=utf-8", status)

    def _send(self, body: bytes, content_type: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # requests are not logged: they carry mail contents
        pass


# --- SMTP ---------------------------------------------------------------------------------------------

class Keeping:
    def __init__(self, store: Store):
        self.store = store

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 (aiosmtpd's name)
        message_id = self.store.add(envelope.content)
        print(f"mailsink: kept message {message_id} for {len(envelope.rcpt_tos)} recipient(s)", flush=True)
        return "250 Message accepted"


def serve() -> None:
    from aiosmtpd.controller import Controller

    store = Store(Path(os.environ.get("MP_DATA_DIR", "/var/lib/mailsink")))
    smtp_host, smtp_port = bind_address("MP_SMTP_BIND_ADDR", "0.0.0.0:1025")
    http_host, http_port = bind_address("MP_UI_BIND_ADDR", "0.0.0.0:8025")
    smtp = Controller(Keeping(store), hostname=smtp_host, port=smtp_port)
    smtp.start()
    handler = type("BoundApi", (Api,), {"store": store})
    http = ThreadingHTTPServer((http_host, http_port), handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    print(f"mailsink: SMTP on {smtp_host}:{smtp_port}, HTTP API on {http_host}:{http_port}, "
          f"mail kept in {store.folder}/", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    http.shutdown()
    smtp.stop()


def readyz(args: list[str]) -> int:
    """`readyz [--listen host:port]`, as Mailpit's: 0 when the HTTP side answers /readyz with 200."""
    listen = args[args.index("--listen") + 1] if "--listen" in args[:-1] else None
    if listen:
        os.environ["MP_UI_BIND_ADDR"] = listen
    host, port = bind_address("MP_UI_BIND_ADDR", "0.0.0.0:8025")
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/readyz", timeout=2) as answer:
            return 0 if answer.status == 200 else 1
    except OSError:
        return 1


def main(argv: list[str]) -> int:
    if argv[:1] == ["readyz"]:
        return readyz(argv[1:])
    if argv:
        print(f"usage: {Path(sys.argv[0]).name} [readyz [--listen host:port]]", file=sys.stderr)
        return 2
    serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
