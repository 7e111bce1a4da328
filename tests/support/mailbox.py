"""The system tests read mail as the demo does: from the .eml files the SMTP sink keeps."""
from svckit.mailsink import Mail, Mailbox

__all__ = ["Mail", "Mailbox"]
