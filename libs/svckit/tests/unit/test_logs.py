import io
import json

from svckit.logs import REQUEST_ID, configure_logging, get_logger, mask_email


def test_log_lines_are_json_with_service_and_request_id_and_no_secrets():
    stream = io.StringIO()
    configure_logging("identity", "INFO", stream=stream)
    token = REQUEST_ID.set("req-1")
    try:
        get_logger("t").info("password set", password="hunter2hunter2", token="abc")
    finally:
        REQUEST_ID.reset(token)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["message"] == "password set"
    assert line["service"] == "identity"
    assert line["request_id"] == "req-1"
    assert "hunter2hunter2" not in stream.getvalue() and line["token"] == "[redacted]"


def test_standard_library_logs_come_out_as_json_too():
    import logging
    stream = io.StringIO()
    configure_logging("consent", "INFO", stream=stream)
    logging.getLogger("some.library").warning("careful")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["message"] == "careful" and line["level"] == "warning"


def test_mask_email_keeps_only_first_letter_and_domain():
    assert mask_email("jan.jansen@example.org") == "j***@example.org"
    assert mask_email("not-an-address") == "***"
