"""Reads the mail the stack's SMTP sink kept as .eml files, the way a person opens their inbox."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

LINK = re.compile(r"https?://[^\s\"'<>]+")


@dataclass
class Mail:
    recipient: str
    subject: str
    text: str
    html: str
    path: Path

    @property
    def links(self) -> list[str]:
        return LINK.findall(self.text)

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

    def all(self) -> list[Mail]:
        mails = []
        for path in sorted(self.folder.glob("*.eml")):
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            text = message.get_body(("plain",))
            html = message.get_body(("html",))
            mails.append(Mail(str(message["To"]), str(message["Subject"]),
                              text.get_content() if text else "", html.get_content() if html else "", path))
        return mails

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
