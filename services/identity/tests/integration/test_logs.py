"""Nothing secret reaches the logs: no link token, no link, no refresh or access token, no mail body."""
import io
import logging

import pytest
import structlog

from pe.identity.v1 import identity_pb2
from svckit.logs import configure_logging

pytestmark = pytest.mark.integration


@pytest.fixture
def log_lines():
    root, smtp_log = logging.getLogger(), logging.getLogger("mail.log")
    saved = (root.handlers[:], root.level, smtp_log.level)
    stream = io.StringIO()
    configure_logging("identity", "DEBUG", stream=stream)
    smtp_log.setLevel(logging.WARNING)   # the test's SMTP server, not the service, logs what it receives
    yield stream
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers[:], _, _ = saved
    root.setLevel(saved[1])
    smtp_log.setLevel(saved[2])


def test_a_whole_flow_logs_no_secret(harness, log_lines):
    harness.create()
    harness.deliver()
    token = harness.last_token("jan@example.org")
    mail_text = harness.mails_to("jan@example.org")[0].get_body(preferencelist=("plain",)).get_content()
    harness.stub.CompletePasswordSetup(identity_pb2.CompletePasswordSetupRequest(
        token=token, password="paarse olifant danst op zolder"), timeout=10)
    session = harness.login()
    rotated = harness.stub.RefreshSession(identity_pb2.RefreshSessionRequest(
        refresh_token=session.refresh_token), timeout=10).session
    try:
        harness.stub.RefreshSession(identity_pb2.RefreshSessionRequest(refresh_token=session.refresh_token),
                                    timeout=10)
    except Exception:
        pass
    harness.stub.IssuePasswordSetupLink(identity_pb2.IssuePasswordSetupLinkRequest(
        username_or_email="jan@example.org"), timeout=10)
    harness.deliver()
    logged = log_lines.getvalue()
    assert "account created" in logged and "a rotated refresh token was used again" in logged
    for secret in (token, harness.last_token("jan@example.org"), session.refresh_token, rotated.refresh_token,
                   session.access_token, "set-password", "paarse olifant", mail_text.splitlines()[2]):
        assert secret not in logged
    assert "jan@example.org" not in logged
