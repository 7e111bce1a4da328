"""Unit tests touch no network: their database, where they need one, is an SQLite file."""
import pytest


@pytest.fixture
def databases(tmp_path):
    from support.resources import DatabaseFactory
    factory = DatabaseFactory(None, tmp_path)
    yield factory
