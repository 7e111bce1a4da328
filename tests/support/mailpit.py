"""Reading mail through Mailpit's HTTP API, from Mailpit itself or pe-insight's stand-in for it
(deploy/images/mailsink): the same questions as `Mailbox` asks of the sink's .eml files."""
from __future__ import annotations

import requests

from svckit.mailsink import Mail, Mailbox

PAGE = 500


class MailpitMailbox(Mailbox):
    def __init__(self, base_url: str, *, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._read: dict[str, Mail] = {}   # a message never changes: each is fetched once

    def _get(self, path: str, **params) -> dict:
        answer = requests.get(f"{self.base_url}/api/v1{path}", params=params, timeout=self.timeout)
        answer.raise_for_status()
        return answer.json()

    def all(self) -> list[Mail]:
        """Every mail, oldest first (the API lists newest first)."""
        summaries, start = [], 0
        while True:
            page = self._get("/messages", start=start, limit=PAGE)
            summaries += page["messages"]
            start += len(page["messages"])
            if not page["messages"] or start >= page["messages_count"]:
                break
        return [self._mail(summary["ID"]) for summary in reversed(summaries)]

    def _mail(self, message_id: str) -> Mail:
        if message_id not in self._read:
            self._read[message_id] = self._fetch(message_id)
        return self._read[message_id]

    def _fetch(self, message_id: str) -> Mail:
        message = self._get(f"/message/{message_id}")
        recipients = ", ".join(f"{a['Name']} <{a['Address']}>" if a["Name"] else a["Address"]
                               for a in message["To"])
        return Mail(recipients, message["Subject"], message["Text"], message["HTML"])

    def clear(self) -> None:
        requests.delete(f"{self.base_url}/api/v1/messages", timeout=self.timeout).raise_for_status()
        self._read.clear()
