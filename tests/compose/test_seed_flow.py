"""The seed flow of tests/system/test_seed_flow.py, the same test, against the composed stack:
through nginx and two replicas of everything, mail read through the mail sink's API."""
import pytest

from system.test_seed_flow import test_seed_flow  # noqa: F401  collected here with this folder's fixtures

pytestmark = pytest.mark.compose
