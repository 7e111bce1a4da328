"""A local SMTP sink for development: prints each mail and keeps it as an .eml file.

    python -m svckit.mailsink            (SMTP_PORT, default 1025; MAIL_DIR, default var/mail)
"""
from __future__ import annotations

import os
import re
import signal
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller

_LINK = re.compile(r"https?://\S+")


class SavingHandler:
    def __init__(self, directory: Path):
        self.directory = directory
        self._count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, _server, _session, envelope):
        with self._lock:
            self._count += 1
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{self._count:04d}.eml"
        path = self.directory / name
        path.write_bytes(envelope.content)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        text = mail.get_body(preferencelist=("plain",))
        links = _LINK.findall(text.get_content()) if text else []
        print(f"mail to {', '.join(envelope.rcpt_tos)}: {mail['subject']} -> {path}", flush=True)
        for link in links:
            print(f"    {link}", flush=True)
        return "250 Message accepted"


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
