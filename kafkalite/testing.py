"""pytest plugin: a real Kafka broker for a test session, no container needed.

Registered through the ``pytest11`` entry point, so installing kafkalite is enough. Fixtures:

- ``kafkalite_broker`` (session): an embedded ``kafkalite.Broker`` on a free port with a
  temporary data directory. Under pytest-xdist every worker has its own (session fixtures are
  per worker), so parallel tests never share a broker.
- ``kafka_bootstrap`` (session): its ``bootstrap.servers`` string.
- ``kafka_topic_factory``: ``kafka_topic_factory(partitions=1, configs=None) -> name`` creates a
  fresh topic through the Kafka protocol (CreateTopics) and returns its unique name.
- ``kafka_faults``: the session broker's fault controls (``kafkalite.broker.faults.FaultRegistry``:
  ``kafka_faults.fail("Produce", "NOT_LEADER_OR_FOLLOWER", count=3)``, ``.delay``, ``.drop``,
  ``.throttle``, ``.coordinator_loading``, ``.disk_full`` ...), every fault cleared after the test.
- ``kafka_cluster`` (function): a fresh simulated 3-node cluster (``Broker(brokers=3)``, nodes
  1, 2 and 3 on free ports, a temporary data directory) for one test, with node faults::

      def test_survives_a_broker_loss(kafka_cluster):
          producer = Producer({"bootstrap.servers": kafka_cluster.bootstrap_servers})
          ...
          kafka_cluster.stop_node(2)      # its port closes, its leaderships move
          kafka_cluster.start_node(2)     # listening again on the same port
          kafka_cluster.kill_node(3)      # an unclean stop: connections cut at once
          kafka_cluster.pause_replication(1); kafka_cluster.set_latency(1, 200)

To configure the broker, override ``kafkalite_broker`` in a conftest.py. This module only wires
fixtures; it must stay cheap to import, since pytest loads it in every session.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kafkalite.broker.faults import FaultRegistry
    from kafkalite.embedded import Broker

TOPIC_TIMEOUT_SECONDS = 30.0
_NOT_IN_TOPIC_NAME = re.compile(r"[^a-zA-Z0-9._-]+")


@pytest.fixture(scope="session")
def kafkalite_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One in-process kafkalite broker for the session (for each xdist worker)."""
    from kafkalite.embedded import Broker

    broker = Broker(port=0, data_dir=tmp_path_factory.mktemp("kafkalite") / "data")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def kafka_cluster(tmp_path: Any) -> Iterator[Broker]:
    """A simulated 3-node cluster for one test: ``bootstrap_servers`` lists its three nodes.

    Node faults go through the returned ``Broker``: ``stop_node(id)``, ``kill_node(id)``,
    ``start_node(id)``, ``pause_replication(id)``, ``resume_replication(id)``,
    ``set_latency(id, ms)``; ``node_ids`` and ``node_address(id)`` describe it. Function scope,
    so faults never leak into the next test; its data directory is the test's ``tmp_path``.
    Override it in a conftest.py for another size or settings (``Broker(brokers=N, ...)``).
    """
    from kafkalite.embedded import Broker

    cluster = Broker(port=0, data_dir=tmp_path / "kafkalite-cluster", brokers=3)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafkalite_broker: Broker) -> str:
    """``host:port`` of the session's broker, for any client's ``bootstrap.servers``."""
    return kafkalite_broker.bootstrap_servers


@pytest.fixture(scope="session")
def _kafkalite_admin(kafka_bootstrap: str) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": kafka_bootstrap})


@pytest.fixture
def kafka_topic_factory(_kafkalite_admin: Any, request: pytest.FixtureRequest) -> Callable[..., str]:
    """``make(partitions=1, configs=None) -> name``: a new topic named after the test."""
    from confluent_kafka.admin import NewTopic

    stem = _NOT_IN_TOPIC_NAME.sub("-", request.node.name).strip("-.")[:80] or "topic"

    def make(partitions: int = 1, configs: dict[str, str] | None = None) -> str:
        name = f"{stem}-{uuid.uuid4().hex[:10]}"
        new = NewTopic(name, num_partitions=partitions, replication_factor=1, config=dict(configs or {}))
        _kafkalite_admin.create_topics([new], operation_timeout=TOPIC_TIMEOUT_SECONDS)[name].result(
            TOPIC_TIMEOUT_SECONDS
        )
        return name

    return make


@pytest.fixture
def kafka_faults(kafkalite_broker: Broker) -> Iterator[FaultRegistry]:
    """Faults on demand for the session's broker; whatever the test set is cleared after it."""
    faults = kafkalite_broker.faults
    try:
        yield faults
    finally:
        faults.clear()
