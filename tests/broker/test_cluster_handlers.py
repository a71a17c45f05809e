"""Handlers of a simulated cluster, called in process: what each node answers for itself.

The state has three nodes (``kafkalite.brokers=3``); requests carry a session naming the node
they came in on, as the server gives every connection of a cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from kafka.protocol.consumer import HeartbeatRequest
from kafka.protocol.metadata import MetadataRequest

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.handlers.describe_cluster import handle_describe_cluster
from kafkalite.broker.handlers.find_coordinator import handle_find_coordinator
from kafkalite.broker.handlers.heartbeat import handle_heartbeat
from kafkalite.broker.handlers.metadata import handle_metadata
from kafkalite.broker.handlers.registry import RequestContext, Session
from kafkalite.broker.nodes import node_port, nodes_from_config
from kafkalite.config import BrokerConfig, ConfigError
from kafkalite.errors import ErrorCode
from kafkalite.protocol.codec import decode_request, encode_response
from kafkalite.protocol.header import RequestHeader


def call(state: BrokerState, handler: Any, key: int, version: int, request: Any, node: int | None) -> Any:
    """Encode ``request`` as a client does, decode as the broker does, answer as node ``node``."""
    decoded = decode_request(key, version, bytes(request.encode(version=version)))
    session = None
    if node is not None:
        session = Session("PLAINTEXT", state.nodes.get(node).endpoints["PLAINTEXT"], node_id=node)
    ctx = RequestContext(state, RequestHeader(key, version, 1, "test", 0), "127.0.0.1:1", session=session)
    body = asyncio.run(handler(ctx, decoded))
    assert encode_response(key, version, body)
    return body


@pytest.fixture
def cluster(make_state: Callable[..., BrokerState]) -> BrokerState:
    """Three nodes on made-up ports (as the server records them once bound), topic ``t``, RF 3."""
    state = make_state(**{"kafkalite.brokers": "3", "port": "19092"})
    for node in state.nodes.all():
        node.endpoints = {"PLAINTEXT": (node.host, node.port)}
    state.replicas.assign("t", 0, [[1, 2, 3], [2, 3, 1], [3, 1, 2]])  # before the logs open, as CreateTopics
    state.cluster.create_topic("t", 3)
    return state


def test_nodes_from_config_keep_a_single_broker_as_it_was(tmp_path: Any) -> None:
    single = nodes_from_config(BrokerConfig(port=9092, node_id=5, data_dir=tmp_path))
    assert [(n.node_id, n.port) for n in single.all()] == [(5, 9092)]
    assert not single.multi
    three = nodes_from_config(BrokerConfig(port=9092, node_id=5, brokers=3, data_dir=tmp_path))
    assert [(n.node_id, n.port) for n in three.all()] == [(1, 9092), (2, 9093), (3, 9094)]
    assert three.multi
    free = nodes_from_config(BrokerConfig(port=0, brokers=3, data_dir=tmp_path))
    assert [n.port for n in free.all()] == [0, 0, 0]
    assert node_port(0, 3, 3) == 0 and node_port(9092, 1, 1) == 9092


def test_brokers_setting_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"kafkalite\.brokers: Value must be at least 1"):
        BrokerConfig.from_properties({"kafkalite.brokers": "0"})
    assert BrokerConfig.from_properties({"kafkalite.brokers": "4"}).brokers == 4


def metadata(state: BrokerState, node: int, version: int = 12) -> Any:
    request = MetadataRequest(version=version, topics=[(None, "t")] if version >= 10 else ["t"],
                              **({"allow_auto_topic_creation": False} if version >= 4 else {}))
    return call(state, handle_metadata, 3, version, request, node)


def test_every_node_lists_the_live_brokers_and_the_replicas(cluster: BrokerState) -> None:
    for node in (1, 2, 3):
        body = metadata(cluster, node)
        assert [(b["node_id"], b["port"]) for b in body["brokers"]] == [(1, 19092), (2, 19093), (3, 19094)]
        (topic,) = body["topics"]
        assert [(p["leader_id"], p["replica_nodes"], p["isr_nodes"]) for p in topic["partitions"]] == [
            (1, [1, 2, 3], [1, 2, 3]), (2, [2, 3, 1], [2, 3, 1]), (3, [3, 1, 2], [3, 1, 2]),
        ]


def test_a_stopped_node_leaves_the_broker_list_and_shows_offline(cluster: BrokerState) -> None:
    cluster.nodes.stop(2)
    body = metadata(cluster, 1)
    assert [b["node_id"] for b in body["brokers"]] == [1, 3]
    partitions = body["topics"][0]["partitions"]
    assert [p["offline_replicas"] for p in partitions] == [[2], [2], [2]]
    assert all(p["error_code"] == 0 for p in partitions)
    # Metadata v0 lists live replicas only, REPLICA_NOT_AVAILABLE (Kafka's errorUnavailableEndpoints).
    old = metadata(cluster, 1, version=0)["topics"][0]["partitions"]
    assert {p["error_code"] for p in old} == {int(ErrorCode.REPLICA_NOT_AVAILABLE)}
    assert all(2 not in p["replica_nodes"] for p in old)


def test_a_partition_without_live_replica_has_no_leader(cluster: BrokerState) -> None:
    cluster.replicas.assign("solo", 0, [[3]])
    cluster.cluster.create_topic("solo", 1)
    cluster.nodes.stop(3, clean=False)
    request = MetadataRequest(version=12, topics=[(None, "solo")], allow_auto_topic_creation=False)
    (partition,) = call(cluster, handle_metadata, 3, 12, request, 1)["topics"][0]["partitions"]
    assert (partition["error_code"], partition["leader_id"], partition["replica_nodes"],
            partition["offline_replicas"]) == (int(ErrorCode.LEADER_NOT_AVAILABLE), -1, [3], [3])


def test_describe_cluster_lists_a_stopped_node_fenced_on_request(cluster: BrokerState) -> None:
    from kafka.protocol.admin import DescribeClusterRequest

    cluster.nodes.stop(1)
    live = call(cluster, handle_describe_cluster, 60, 1,
                DescribeClusterRequest(version=1, include_cluster_authorized_operations=False, endpoint_type=1), 2)
    assert [b["broker_id"] for b in live["brokers"]] == [2, 3]
    assert live["controller_id"] == 2
    every = call(cluster, handle_describe_cluster, 60, 2,
                 DescribeClusterRequest(version=2, include_cluster_authorized_operations=False, endpoint_type=1,
                                        include_fenced_brokers=True), 2)
    assert [(b["broker_id"], b["is_fenced"]) for b in every["brokers"]] == [(1, True), (2, False), (3, False)]


def test_group_requests_to_another_node_answer_not_coordinator(cluster: BrokerState) -> None:
    from kafka.protocol.metadata.find_coordinator import FindCoordinatorRequest

    found = call(cluster, handle_find_coordinator, 10, 4,
                 FindCoordinatorRequest(version=4, key_type=0, coordinator_keys=["g"]), 3)
    (coordinator,) = found["coordinators"]
    home = coordinator["node_id"]
    assert (coordinator["host"], coordinator["port"]) == cluster.nodes.get(home).endpoints["PLAINTEXT"]
    other = next(n for n in (1, 2, 3) if n != home)
    beat = HeartbeatRequest(version=4, group_id="g", generation_id=1, member_id="m", group_instance_id=None)
    assert call(cluster, handle_heartbeat, 12, 4, beat, other)["error_code"] == int(ErrorCode.NOT_COORDINATOR)
    # The coordinator itself looks the group up (unknown here).
    assert call(cluster, handle_heartbeat, 12, 4, beat, home)["error_code"] != int(ErrorCode.NOT_COORDINATOR)


def test_no_live_node_means_no_coordinator(cluster: BrokerState) -> None:
    from kafka.protocol.metadata.find_coordinator import FindCoordinatorRequest

    for node in (1, 2, 3):
        cluster.nodes.stop(node)
    found = call(cluster, handle_find_coordinator, 10, 3, FindCoordinatorRequest(version=3, key_type=0, key="g"), 1)
    assert (found["error_code"], found["node_id"], found["error_message"]) == (
        int(ErrorCode.COORDINATOR_NOT_AVAILABLE), -1, "The coordinator is not available."
    )


def test_single_broker_answers_are_unchanged(make_state: Callable[..., BrokerState]) -> None:
    state = make_state(**{"node.id": "7"})
    state.cluster.create_topic("t", 1)
    body = metadata(state, None)  # type: ignore[arg-type]
    assert [b["node_id"] for b in body["brokers"]] == [7]
    assert body["controller_id"] == 7
    (partition,) = body["topics"][0]["partitions"]
    assert (partition["leader_id"], partition["replica_nodes"], partition["isr_nodes"]) == (7, [7], [7])


def test_describe_topic_partitions_shows_no_error_for_a_leaderless_partition(cluster: BrokerState) -> None:
    """Kafka 4.4 answers such a partition with leader -1 and no error here (Metadata: LEADER_NOT_AVAILABLE)."""
    from kafka.protocol.admin import DescribeTopicPartitionsRequest

    from kafkalite.broker.handlers.describe_topic_partitions import handle_describe_topic_partitions

    cluster.replicas.assign("solo", 0, [[2]])
    cluster.cluster.create_topic("solo", 1)
    cluster.nodes.stop(2)
    request = DescribeTopicPartitionsRequest(version=0, topics=[("solo",)], response_partition_limit=100, cursor=None)
    body = call(cluster, handle_describe_topic_partitions, 75, 0, request, 1)
    (partition,) = body["topics"][0]["partitions"]
    assert (partition["error_code"], partition["leader_id"], partition["replica_nodes"],
            partition["offline_replicas"]) == (0, -1, [2], [2])
    request = MetadataRequest(version=0, topics=["solo"])
    (old,) = call(cluster, handle_metadata, 3, 0, request, 1)["topics"][0]["partitions"]
    assert (old["error_code"], old["leader_id"], old["replica_nodes"], old["isr_nodes"]) == (
        int(ErrorCode.LEADER_NOT_AVAILABLE), -1, [], []
    )
