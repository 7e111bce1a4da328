"""The mail sink image's program (deploy/images/mailsink/mailsink.py), run here as a real process: mail
sent to it over SMTP is read back through the part of Mailpit's HTTP API it serves, with the client the
tests use for Mailpit, and from the .eml files it keeps."""
from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import requests

from support.mailpit import MailpitMailbox
from support.resources import free_port
from svckit.mailsink import Mailbox

PROGRAM = Path(__file__).resolve().parents[2] / "deploy" / "images" / "mailsink" / "mailsink.py"


class Sink:
    def __init__(self, folder: Path):
        self.folder = folder
        self.smtp_port, self.http_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.env = {**os.environ, "MP_DATA_DIR": str(folder),
                    "MP_SMTP_BIND_ADDR": f"127.0.0.1:{self.smtp_port}",
                    "MP_UI_BIND_ADDR": f"127.0.0.1:{self.http_port}"}

    def send(self, to: str, subject: str, text: str, html: str | None = None) -> None:
        message = EmailMessage()
        message["From"] = "pe-insight <noreply@pe-insight.local>"
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        if html:
            message.add_alternative(html, subtype="html")
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)

    def api(self, path: str, **params):
        answer = requests.get(f"{self.url}/api/v1{path}", params=params, timeout=10)
        return answer

    def readyz(self, *args: str) -> int:
        return subprocess.run([sys.executable, str(PROGRAM), "readyz", *args], env=self.env,
                              capture_output=True, timeout=30).returncode


@pytest.fixture
def sink(tmp_path):
    sink = Sink(tmp_path / "mail")
    process = subprocess.Popen([sys.executable, str(PROGRAM)], env=sink.env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 20
    while sink.readyz() != 0:
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the mail sink did not answer /readyz within 20 s"
        time.sleep(0.1)
    yield sink
    process.terminate()
    assert process.wait(timeout=10) == 0, "the mail sink stops cleanly on SIGTERM"


def test_mail_sent_over_smtp_is_read_back_through_the_mailpit_client(sink):
    sink.send("Ann de Vries <ann@example.org>", "Stel je wachtwoord in",
              "Open https://pe.example/password-setup?token=abc123 binnen 72 uur.", "<p>Open de link</p>")
    mailbox = MailpitMailbox(sink.url)
    mail = mailbox.wait_for("ann@example.org", containing="wachtwoord", timeout=10)
    assert mail.subject == "Stel je wachtwoord in"
    assert mail.recipient == "Ann de Vries <ann@example.org>"
    assert mail.token() == "abc123"
    assert "<p>Open de link</p>" in mail.html
    assert mailbox.to("bob@example.org") == []
    # The same mail as an .eml file, which the sink's folder gives to Mailbox.
    (from_file,) = Mailbox(sink.folder).all()
    assert (from_file.subject, from_file.token()) == ("Stel je wachtwoord in", "abc123")


def test_listing_is_newest_first_with_mailpits_fields_and_counts(sink):
    for number in range(3):
        sink.send(f"user{number}@example.org", f"Mail {number}", f"Tekst van mail {number}")
    listing = sink.api("/messages", limit=2).json()
    assert (listing["total"], listing["unread"], listing["messages_count"], listing["start"]) == (3, 3, 3, 0)
    assert [m["Subject"] for m in listing["messages"]] == ["Mail 2", "Mail 1"]
    first = listing["messages"][0]
    assert first["From"] == {"Name": "pe-insight", "Address": "noreply@pe-insight.local"}
    assert first["To"] == [{"Name": "", "Address": "user2@example.org"}]
    assert first["Snippet"] == "Tekst van mail 2" and first["Read"] is False and first["Attachments"] == 0
    assert first["Created"].endswith("Z")
    assert [m["Subject"] for m in sink.api("/messages", start=2).json()["messages"]] == ["Mail 0"]
    assert sink.api("/messages", limit="many").status_code == 400


def test_search_by_recipient_subject_and_words(sink):
    sink.send("ann@example.org", "Toegang verleend", "Je dossier is gedeeld")
    sink.send("bob@example.org", "Stel je wachtwoord in", "Open de link")
    found = sink.api("/search", query="to:ann@example.org").json()
    assert [m["Subject"] for m in found["messages"]] == ["Toegang verleend"]
    assert (found["messages_count"], found["total"]) == (1, 2)
    assert sink.api("/search", query='subject:"wachtwoord in"').json()["messages_count"] == 1
    assert sink.api("/search", query="dossier").json()["messages_count"] == 1
    assert sink.api("/search", query="-to:ann@example.org").json()["messages"][0]["To"][0]["Address"] \
        == "bob@example.org"
    assert sink.api("/search").status_code == 400


def test_message_latest_raw_read_state_and_unknown_ids(sink):
    sink.send("ann@example.org", "Eerste", "een")
    sink.send("ann@example.org", "Tweede", "twee")
    latest = sink.api("/message/latest").json()
    assert latest["Subject"] == "Tweede" and latest["Text"].strip() == "twee"
    assert latest["From"]["Address"] == "noreply@pe-insight.local"
    listing = sink.api("/messages").json()
    assert listing["unread"] == 1 and listing["messages"][0]["Read"] is True
    raw = sink.api(f"/message/{latest['ID']}/raw")
    assert raw.status_code == 200 and "Subject: Tweede" in raw.text
    assert sink.api("/message/123-0001").status_code == 404
    assert sink.api("/message/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_delete_some_or_all(sink):
    for number in range(3):
        sink.send("ann@example.org", f"Mail {number}", "tekst")
    ids = [m["ID"] for m in sink.api("/messages").json()["messages"]]
    requests.delete(f"{sink.url}/api/v1/messages", json={"IDs": ids[:1]}, timeout=10).raise_for_status()
    assert [m["Subject"] for m in sink.api("/messages").json()["messages"]] == ["Mail 1", "Mail 0"]
    MailpitMailbox(sink.url).clear()
    assert sink.api("/messages").json()["total"] == 0
    assert list(sink.folder.glob("*.eml")) == []


def test_readyz_fails_when_nothing_answers(tmp_path):
    idle = Sink(tmp_path)
    assert idle.readyz() == 1
    assert idle.readyz("--listen", f"127.0.0.1:{free_port()}") == 1
