import pytest

from support.stack import new_stack


@pytest.fixture
def stack(tmp_path, amqp_url, databases, port_factory):
    stack = new_stack(tmp_path / "stack", amqp_url, databases, port_factory)
    stack.start()
    yield stack
    stack.stop()
