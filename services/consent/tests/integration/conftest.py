"""Integration fixtures: a migrated database (SQLite, or PostgreSQL with TEST_POSTGRES_URL), the
fake organisation and identity services on in-process gRPC servers, and the consent API on a
third, with svckit's interceptors."""
import uuid

import grpc
import pytest
from prometheus_client import CollectorRegistry

from pe.consent.v1 import consent_pb2_grpc
from pe.identity.v1 import identity_pb2_grpc
from pe.organisation.v1 import organisation_pb2_grpc
from svckit.amqp import ConfirmingPublisher, connect
from svckit.clock import ManualClock
from svckit.server import GrpcHost

from consent import config, events
from consent.__main__ import api_registration
from consent.clients import GrpcAccountDirectory, GrpcOrganisationDirectory
from consent.handlers import Dependencies
from consent.mails import Mails
from consent.repository import ConsentStore
from consent_testkit import (PUBLIC_URL, START, Directory, FakeIdentityServicer, FakeOrganisationServicer,
                             migrated_engine, start_server)

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(databases):
    engine = migrated_engine(databases.new("consent"))
    yield engine
    engine.dispose()


@pytest.fixture
def directory():
    return Directory()


@pytest.fixture
def others(directory, port_factory):
    """The organisation and identity services, faked behind real gRPC servers."""
    organisation, identity = FakeOrganisationServicer(directory), FakeIdentityServicer(directory)
    ports = port_factory(), port_factory()
    servers = [start_server(organisation_pb2_grpc.add_OrganisationServiceServicer_to_server, organisation, ports[0]),
               start_server(identity_pb2_grpc.add_IdentityServiceServicer_to_server, identity, ports[1])]
    yield type("Others", (), dict(organisation=organisation, identity=identity,
                                  organisation_addr=f"127.0.0.1:{ports[0]}", identity_addr=f"127.0.0.1:{ports[1]}"))
    for server in servers:
        server.stop(None)


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def deps(engine, others, clock):
    channels = [grpc.insecure_channel(others.organisation_addr), grpc.insecure_channel(others.identity_addr)]
    store = ConsentStore(engine)
    yield Dependencies(store=store, clock=clock,
                       organisations=GrpcOrganisationDirectory(channels[0], timeout=3),
                       accounts=GrpcAccountDirectory(channels[1], timeout=3), mails=Mails(PUBLIC_URL))
    store.close()
    for channel in channels:
        channel.close()


@pytest.fixture
def consent_api(deps, port_factory):
    """A stub of the consent service, served by the real servicer with svckit's interceptors."""
    host = GrpcHost(port=port_factory(), bind_host="127.0.0.1", registry=CollectorRegistry(), credentials=None,
                    registrations=[api_registration(deps, config.load({}).access_check_workers)])
    host.start()
    host.mark_ready()
    channel = grpc.insecure_channel(f"127.0.0.1:{host.port}")
    yield consent_pb2_grpc.ConsentServiceStub(channel)
    channel.close()
    host.drain(0)


@pytest.fixture
def queue(amqp_url):
    """A queue of this test's own, bound to every consent routing key."""
    name = f"test.consent-events.{uuid.uuid4().hex[:8]}"
    connection = connect(amqp_url)
    channel = connection.channel()
    publisher = ConfirmingPublisher(amqp_url, exchanges=(events.EXCHANGE,))
    publisher._ensure_channel()  # declares the exchange as the service does
    channel.queue_declare(name, durable=True)
    channel.queue_bind(name, events.EXCHANGE, "consent.#")
    yield type("Queue", (), dict(name=name, channel=channel, publisher=publisher))
    publisher.close()
    channel.queue_delete(name)
    connection.close()
