"""Fixtures of the tests that run against the composed stack (`make compose-test`, marker `compose`):
the stack as its base URL and project name, mail through the mail sink's API."""
import pytest

from support.compose import ComposeStack
from support.mailpit import MailpitMailbox


def pytest_collection_modifyitems(items):
    # Every test here needs the composed stack; `make test` leaves them out by this marker.
    for item in items:
        if "tests/compose/" in str(item.path):
            item.add_marker(pytest.mark.compose)


@pytest.fixture(scope="session")
def stack() -> ComposeStack:
    stack = ComposeStack.from_environment()
    stack.wait_ready()
    return stack


@pytest.fixture(scope="session")
def mailbox(stack) -> MailpitMailbox:
    return MailpitMailbox(stack.mail_api)
