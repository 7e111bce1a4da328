import os

import pytest

from support.broker import isolated_vhost
from support.mailbox import Mailbox
from support.resources import DatabaseFactory, free_port
from support.stack import new_stack


@pytest.fixture(scope="module")
def stack_amqp_url(amqp_url):
    """The broker as this module's stack sees it: a vhost of its own."""
    with isolated_vhost(amqp_url) as url:
        yield url


@pytest.fixture(scope="module")
def stack_settings() -> dict[str, dict[str, str]]:
    """Settings of single processes of this module's stack, {process: {NAME: value}}; a module
    that needs some defines this fixture again."""
    return {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, stack_amqp_url, stack_settings):
    """One stack for a test module: every test in it makes its own organisations and people."""
    folder = tmp_path_factory.mktemp("stack")
    databases = DatabaseFactory(os.environ.get("TEST_POSTGRES_URL"), folder)
    stack = new_stack(folder / "stack", stack_amqp_url, databases, free_port)
    for process, settings in stack_settings.items():
        stack.overrides.setdefault(process, {}).update(settings)
    stack.start()
    yield stack
    stack.stop()
    databases.drop_all()


@pytest.fixture(scope="module")
def mailbox(stack):
    return Mailbox(stack.folder / "mail")
