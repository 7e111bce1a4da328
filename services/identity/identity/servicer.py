"""gRPC servicer of the identity service: proto in, use case, proto out."""
from google.protobuf.timestamp_pb2 import Timestamp

from identity.keys import SigningKeyStore
from pe.identity.v1 import identity_pb2, identity_pb2_grpc


def _timestamp(moment) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


class IdentityService(identity_pb2_grpc.IdentityServiceServicer):
    """The v1 API of the identity service.

    Methods not yet defined here answer UNIMPLEMENTED (the generated base class),
    so callers can tell an absent feature from a failure.
    """

    def __init__(self, keys: SigningKeyStore):
        self._keys = keys

    def ListSigningKeys(self, request, context):
        return identity_pb2.ListSigningKeysResponse(keys=[
            identity_pb2.SigningKey(key_id=key.key_id, key_type="OKP", curve="Ed25519", x=key.x,
                                    create_time=_timestamp(key.created_at))
            for key in self._keys.public_keys()])
