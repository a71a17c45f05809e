"""Admin-API handlers called directly with an authorizer on: which check wins, and what is revealed.

The same answers are checked against Apache Kafka 4.4 in compat_tests/test_authorization_admin.py;
here they run without a network, so each rule has a fast test.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka.protocol.admin import (
    CreatePartitionsRequest,
    CreateTopicsRequest,
    DeleteTopicsRequest,
    DescribeConfigsRequest,
    IncrementalAlterConfigsRequest,
)

from kafkalite.broker.authorizer import AclBinding, Operation, PatternType, Permission, ResourceType
from kafkalite.broker.broker import BrokerState
from kafkalite.broker.handlers.create_partitions import handle_create_partitions
from kafkalite.broker.handlers.create_topics import handle_create_topics
from kafkalite.broker.handlers.delete_topics import handle_delete_topics
from kafkalite.broker.handlers.describe_configs import handle_describe_configs
from kafkalite.broker.handlers.incremental_alter_configs import handle_incremental_alter_configs
from kafkalite.broker.handlers.registry import RequestContext, Session
from kafkalite.clock import ManualClock
from kafkalite.config import BrokerConfig
from kafkalite.protocol.header import RequestHeader

ALICE = "User:CN=alice"
TAF, CAF, INVALID_REQUEST, UNKNOWN_TOPIC = 29, 31, 42, 3


@pytest.fixture
def state(tmp_path: Path) -> Iterator[BrokerState]:
    """Topics ``seen`` (alice may DESCRIBE it), ``mine`` (ALL) and ``hidden`` (nothing)."""
    config = BrokerConfig.from_properties({
        "log.dirs": str(tmp_path / "data"),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    })
    state = BrokerState(config, ManualClock())
    state.open()
    for name in ("seen", "mine", "hidden"):
        state.cluster.create_topic(name, 1)
    allow(state, ResourceType.TOPIC, "seen", Operation.DESCRIBE)
    allow(state, ResourceType.TOPIC, "mine", Operation.ALL)
    yield state
    state.close()


def allow(state: BrokerState, rtype: ResourceType, name: str, op: Operation) -> None:
    state.acls.create([AclBinding(rtype, name, PatternType.LITERAL, ALICE, "*", op, Permission.ALLOW)])


def call(state: BrokerState, handler: Any, key: int, request: Any) -> Any:
    """The handler's answer to ``request`` as the broker would decode it from the wire."""
    request = type(request).decode(bytes(request.encode()), version=request.API_VERSION)
    ctx = RequestContext(state, RequestHeader(key, request.API_VERSION, 1, "test", 0), "127.0.0.1:1",
                         session=Session("SSL", ("127.0.0.1", 9093), ALICE))
    return asyncio.run(handler(ctx, request))


def test_delete_topics_reveals_only_what_may_be_described(state: BrokerState) -> None:
    hidden_id = state.cluster.topics["hidden"].topic_id
    state_ = DeleteTopicsRequest.DeleteTopicState
    request = DeleteTopicsRequest(version=6, timeout_ms=1000, topics=[
        state_(name="hidden"), state_(name="absent"), state_(name="seen"), state_(name=None, topic_id=hidden_id),
        state_(name="mine"), state_(name=None, topic_id=uuid.uuid4()),
    ])
    answer = call(state, handle_delete_topics, 20, request)["responses"]
    assert sorted((r["name"] or "", r["error_code"]) for r in answer) == sorted([
        ("", TAF),  # hidden by id: no name given back
        ("hidden", TAF), ("absent", TAF), ("seen", TAF), ("", 100), ("mine", 0),
    ])
    assert "mine" not in state.cluster.topics and "hidden" in state.cluster.topics
    allow(state, ResourceType.TOPIC, "absent", Operation.DESCRIBE)
    again = call(state, handle_delete_topics, 20, DeleteTopicsRequest(version=6, timeout_ms=1000,
                                                                      topics=[state_(name="absent")]))
    assert [(r["name"], r["error_code"]) for r in again["responses"]] == [("absent", UNKNOWN_TOPIC)]


def test_delete_topics_with_delete_on_the_cluster(state: BrokerState) -> None:
    allow(state, ResourceType.CLUSTER, "kafka-cluster", Operation.DELETE)
    answer = call(state, handle_delete_topics, 20, DeleteTopicsRequest(version=5, timeout_ms=1000,
                                                                       topic_names=["hidden", "absent"]))
    assert sorted((r["name"], r["error_code"]) for r in answer["responses"]) == [
        ("absent", UNKNOWN_TOPIC), ("hidden", 0)]


def test_create_topics(state: BrokerState) -> None:
    topic = CreateTopicsRequest.CreatableTopic
    allow(state, ResourceType.TOPIC, "new", Operation.CREATE)
    request = CreateTopicsRequest(version=7, timeout_ms=1000, topics=[
        topic(name="new", num_partitions=2, replication_factor=1),
        topic(name="other", num_partitions=-1, replication_factor=-1),
        topic(name="d", num_partitions=1, replication_factor=1),
        topic(name="d", num_partitions=1, replication_factor=1),
    ])
    answer = {t["name"]: t for t in call(state, handle_create_topics, 19, request)["topics"]}
    assert answer["other"]["error_code"] == TAF and answer["other"]["error_message"] == "Authorization failed."
    assert answer["d"]["error_message"] == "Duplicate topic name."
    created = answer["new"]
    assert (created["error_code"], created["configs"], created["num_partitions"]) == (0, [], -1)
    assert created["topic_config_error_code"] == TAF  # no DESCRIBE_CONFIGS: the configs are withheld
    assert len(state.cluster.topics["new"].partitions) == 2 and "other" not in state.cluster.topics
    allow(state, ResourceType.CLUSTER, "kafka-cluster", Operation.CREATE)  # CREATE on the cluster: any topic
    answer = call(state, handle_create_topics, 19, CreateTopicsRequest(version=7, timeout_ms=1000, topics=[
        topic(name="other", num_partitions=1, replication_factor=1)]))
    assert answer["topics"][0]["error_code"] == 0


def test_create_partitions_denied_before_existence(state: BrokerState) -> None:
    part = CreatePartitionsRequest.CreatePartitionsTopic
    request = CreatePartitionsRequest(version=3, timeout_ms=1000, validate_only=False, topics=[
        part(name="absent", count=2, assignments=None), part(name="seen", count=2, assignments=None),
        part(name="mine", count=1, assignments=None)])
    answer = call(state, handle_create_partitions, 37, request)["results"]
    assert [(r["name"], r["error_code"], r["error_message"]) for r in answer] == [
        ("absent", TAF, None), ("seen", TAF, None), ("mine", 37, "Topic already has 1 partitions.")]


def test_describe_configs_denied_after_the_described(state: BrokerState) -> None:
    request = DescribeConfigsRequest(version=4, include_synonyms=False, resources=[
        (2, "hidden", None), (4, "1", None), (2, "mine", ["retention.ms"]), (2, "not a topic!", None)])
    answer = call(state, handle_describe_configs, 32, request)["results"]
    assert [(r["resource_name"], r["error_code"], r["error_message"]) for r in answer] == [
        ("mine", 0, ""), ("hidden", TAF, "Topic authorization failed."),
        ("1", CAF, "Cluster authorization failed."), ("not a topic!", TAF, "Topic authorization failed.")]


def test_incremental_alter_configs_form_then_authorization(state: BrokerState) -> None:
    request = IncrementalAlterConfigsRequest(version=1, validate_only=True, resources=[
        (2, "hidden", [("retention.ms", 0, "1"), ("retention.ms", 0, "2")]),  # duplicate keys: said first
        (2, "hidden", [("no.such.config", 0, "1")]),
        (2, "absent", [("cleanup.policy", 2, "compact")]),
        (4, "1", [("log.dirs", 0, "/x")]),  # not looked at: refused first, without a message
        (2, "mine", [("retention.ms", 0, "1000")]),
    ])
    answer = call(state, handle_incremental_alter_configs, 44, request)["responses"]
    assert [(r["error_code"], r["error_message"]) for r in answer] == [
        (INVALID_REQUEST, "Error due to duplicate config keys : retention.ms"),
        (TAF, "Topic authorization failed."), (TAF, "Topic authorization failed."), (CAF, None), (0, None)]
