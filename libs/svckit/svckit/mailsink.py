"""A local SMTP sink for development: prints each mail and keeps it as an .eml file, and
`Mailbox`, which reads those files back the way a person opens their inbox (for the demo
and the system tests).

    python -m svckit.mailsink            (SMTP_PORT, default 1025; MAIL_DIR, default var/mail)
"""
from __future__ import annotations

import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

_LINK = re.compile(r"https?://[^\s\"'<>]+")


class SavingHandler:
    def __init__(self, directory: Path):
        self.directory = directory
        self._count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, _server, _session, envelope):
        with self._lock:
            self._count += 1
            # Nanoseconds first: names sort by arrival, also across restarts of the sink.
            name = f"{time.time_ns()}-{self._count:04d}.eml"
        path = self.directory / name
        # Written aside and renamed: a reader of *.eml never sees half a mail.
        partial = self.directory / (name + ".part")
        partial.write_bytes(envelope.content)
        partial.replace(path)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        text = mail.get_body(preferencelist=("plain",))
        links = _LINK.findall(text.get_content()) if text else []
        print(f"mail to {', '.join(envelope.rcpt_tos)}: {mail['subject']} -> {path}", flush=True)
        for link in links:
            print(f"    {link}", flush=True)
        return "250 Message accepted"


@dataclass
class Mail:
    recipient: str
    subject: str
    text: str
    html: str
    path: Path | None = None  # the .eml file, when read from the sink's folder

    @property
    def links(self) -> list[str]:
        return [link.rstrip(".,;:!?)") for link in _LINK.findall(self.text)]

    def token(self) -> str:
        """The token of the password-setup link in this mail."""
        for link in self.links:
            token = parse_qs(urlsplit(link).query).get("token")
            if token:
                return token[0]
        raise AssertionError(f"no link with a token in mail {self.subject!r}:\n{self.text}")


class Mailbox:
    def __init__(self, folder: Path):
        self.folder = folder
        self._read: dict[Path, Mail] = {}   # a kept mail never changes: each file is parsed once

    def all(self, *, skip: frozenset[Path] | set[Path] = frozenset()) -> list[Mail]:
        """Every mail kept, in order of arrival; those in `skip` (the files of earlier mail) left unread."""
        return [self._parsed(path) for path in sorted(self.folder.glob("*.eml")) if path not in skip]

    def _parsed(self, path: Path) -> Mail:
        mail = self._read.get(path)
        if mail is None:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            text = message.get_body(("plain",))
            html = message.get_body(("html",))
            mail = Mail(str(message["To"]), str(message["Subject"]),
                        text.get_content() if text else "", html.get_content() if html else "", path)
            self._read[path] = mail
        return mail

    def to(self, recipient: str) -> list[Mail]:
        return [m for m in self.all() if recipient.lower() in m.recipient.lower()]

    def wait_for(self, recipient: str, *, containing: str = "", count: int = 1, timeout: float = 30.0) -> Mail:
        """The newest mail to the recipient whose text holds `containing`, once `count` of them arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.to(recipient) if containing.lower() in (m.subject + m.text).lower()]
            if len(found) >= count:
                return found[-1]
            if time.monotonic() > deadline:
                seen = [(m.recipient, m.subject) for m in self.all()]
                raise AssertionError(f"no mail to {recipient} containing {containing!r} within {timeout} s; "
                                     f"mail seen: {seen}")
            time.sleep(0.2)


def main() -> None:
    directory = Path(os.environ.get("MAIL_DIR", "var/mail"))
    directory.mkdir(parents=True, exist_ok=True)
    port = int(os.environ.get("SMTP_PORT", "1025"))
    controller = Controller(SavingHandler(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"mail sink on 127.0.0.1:{port}, keeping mail in {directory}/", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
