"""What the servicer answers for a use case's failure: a database that went away is a retryable
UNAVAILABLE with a retry-after, as a read model that is behind, never INTERNAL."""
import grpc
from sqlalchemy.exc import OperationalError

from reporting import handlers
from reporting.servicer import status_of


def _retry_after(status) -> str | None:
    return dict(status.trailing_metadata or ()).get("retry-after")


def test_a_database_that_does_not_answer_is_unavailable_with_retry_after():
    status = status_of(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert status.code == grpc.StatusCode.UNAVAILABLE
    assert _retry_after(status) == "2"


def test_a_read_model_behind_is_unavailable_with_its_retry_after():
    status = status_of(handlers.Unavailable("READ_MODEL_BEHIND", "behind", retry_after=3))
    assert status.code == grpc.StatusCode.UNAVAILABLE and _retry_after(status) == "3"


def test_anything_unforeseen_is_internal():
    assert status_of(RuntimeError("boom")).code == grpc.StatusCode.INTERNAL
