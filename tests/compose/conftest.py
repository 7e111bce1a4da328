"""Fixtures of the tests that run against the composed stack (`make compose-test`, marker `compose`):
the stack as its base URL and project name, mail through the mail sink's API."""
import pytest

from support.api import add_contact, create_operator, create_professional, register
from support.compose import ComposeStack, docker
from support.mailpit import MailpitMailbox

CLIENTS = 8  # the professionals of the fault tests' clients


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


@pytest.fixture(autouse=True)
def fresh_start(stack, mailbox):
    """Each test starts with an empty mail sink (every grant and revocation of the fault tests mails
    the professional, and a test finds its own mail by reading what the sink holds) and fresh
    rate-limit counts (every request of these tests comes from one address, this machine's)."""
    docker("exec", stack.container("redis").id, "redis-cli", "FLUSHALL")
    mailbox.clear()


@pytest.fixture(scope="module")
def world(stack, mailbox):
    """An authorised organisation, the contact who reads dossiers, and a professional per client."""
    operator = create_operator(stack, mailbox)
    organisation_id, admin = register(stack, mailbox, "Storingsdienst Oost")
    assert operator.api.post(f"/organisations/{organisation_id}/authorise", json={}).status_code == 200
    contact = add_contact(stack, mailbox, admin, organisation_id, "contact")
    professionals = [create_professional(stack, mailbox, operator, name=f"Client {n}") for n in range(CLIENTS)]
    return organisation_id, contact, professionals
