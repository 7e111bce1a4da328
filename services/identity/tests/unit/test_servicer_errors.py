"""A database that does not answer is a retryable UNAVAILABLE from every method, the public keys
included (they are read from the database), never an unhandled exception (UNKNOWN)."""
import grpc
import pytest
from sqlalchemy.exc import OperationalError

from identity.servicer import IdentityService
from pe.identity.v1 import identity_pb2


class Aborted(Exception):
    pass


class Context:
    def abort(self, code, details):
        self.code, self.details = code, details
        raise Aborted()


class KeysOfAnUnreachableDatabase:
    def public_keys(self):
        raise OperationalError("SELECT", {}, Exception("connection refused"))


def test_listing_signing_keys_without_the_database_is_unavailable():
    context = Context()
    with pytest.raises(Aborted):
        IdentityService(KeysOfAnUnreachableDatabase(), deps=None).ListSigningKeys(
            identity_pb2.ListSigningKeysRequest(), context)
    assert context.code == grpc.StatusCode.UNAVAILABLE
