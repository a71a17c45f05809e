"""Config resources in process: value sources, synonyms, incremental operations, persistence, live logs."""

import pytest

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.configs import (
    APPEND,
    BROKER,
    DELETE,
    SET,
    SOURCE_DEFAULT,
    SOURCE_DYNAMIC_BROKER,
    SOURCE_DYNAMIC_DEFAULT,
    SOURCE_STATIC,
    SOURCE_TOPIC,
    SUBTRACT,
    TOPIC,
    ResourceError,
)
from kafkalite.clock import ManualClock
from kafkalite.config import BrokerConfig
from kafkalite.errors import ErrorCode


@pytest.fixture
def make_state(tmp_path):
    states = []

    def _make(**props):
        config = BrokerConfig.from_properties({"log.dirs": str(tmp_path / "data"), **props})
        state = BrokerState(config, ManualClock())
        state.open()
        states.append(state)
        return state

    yield _make
    for state in states:
        state.close()


def entries(state, rtype, name, keys=None):
    return {e["name"]: e for e in state.configs.describe(rtype, name, keys, True, True)}


def test_topic_sources_follow_precedence(make_state):
    state = make_state(**{"log.retention.minutes": "10"})
    state.cluster.create_topic("t", 1, {"segment.ms": "1000"})
    got = entries(state, TOPIC, "t")
    assert (got["segment.ms"]["value"], got["segment.ms"]["config_source"]) == ("1000", SOURCE_TOPIC)
    assert (got["retention.ms"]["value"], got["retention.ms"]["config_source"]) == ("600000", SOURCE_STATIC)
    assert [(s["name"], s["source"]) for s in got["retention.ms"]["synonyms"]] == [
        ("log.retention.minutes", SOURCE_STATIC),
        ("log.retention.hours", SOURCE_DEFAULT),
    ]
    assert got["retention.ms"]["documentation"]
    state.configs.replace(BROKER, "", {"log.retention.ms": "5000"}, validate_only=False)
    got = entries(state, TOPIC, "t", ["retention.ms"])
    assert list(got) == ["retention.ms"]
    assert (got["retention.ms"]["value"], got["retention.ms"]["config_source"]) == ("5000", SOURCE_DYNAMIC_DEFAULT)
    state.configs.replace(BROKER, "1", {"log.retention.hours": "2"}, validate_only=False)
    # log.retention.ms outranks log.retention.hours whatever the layer, as in Kafka
    assert entries(state, TOPIC, "t")["retention.ms"]["value"] == "5000"
    state.configs.replace(BROKER, "1", {"log.retention.ms": "7000"}, validate_only=False)
    got = entries(state, TOPIC, "t")["retention.ms"]
    assert (got["value"], got["config_source"]) == ("7000", SOURCE_DYNAMIC_BROKER)
    assert state.cluster.topics["t"].partitions[0].config.retention_ms == 7000  # applied live


def test_incremental_operations(make_state):
    state = make_state()
    state.cluster.create_topic("t", 1, {"retention.ms": "1"})
    cfg = state.configs
    assert cfg.incremental(TOPIC, "t", [("cleanup.policy", APPEND, "compact")]) == {
        "retention.ms": "1",
        "cleanup.policy": "delete,compact",
    }
    assert cfg.incremental(TOPIC, "t", [("cleanup.policy", SUBTRACT, "delete"), ("retention.ms", DELETE, None)]) == {
        "cleanup.policy": ""
    }
    with pytest.raises(ResourceError) as info:
        cfg.incremental(TOPIC, "t", [("retention.ms", APPEND, "5")])
    assert info.value.code == ErrorCode.INVALID_CONFIG
    with pytest.raises(ResourceError) as info:
        cfg.incremental(TOPIC, "t", [("retention.ms", SET, "5"), ("retention.ms", DELETE, None)])
    assert info.value.code == ErrorCode.INVALID_REQUEST
    with pytest.raises(ResourceError) as info:
        cfg.incremental(TOPIC, "t", [("retention.ms", 9, "5")])
    assert info.value.code == ErrorCode.INVALID_REQUEST
    with pytest.raises(ResourceError) as info:
        cfg.replace(TOPIC, "t", {"cleanup.policy": ""}, validate_only=False)
    assert info.value.code == ErrorCode.INVALID_CONFIG


def test_resource_errors(make_state):
    state = make_state()
    cfg = state.configs
    for rtype, name, code in [
        (TOPIC, "missing", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
        (TOPIC, "bad/name", ErrorCode.INVALID_TOPIC_EXCEPTION),
        (BROKER, "2", ErrorCode.INVALID_REQUEST),
        (16, "x", ErrorCode.INVALID_REQUEST),
    ]:
        with pytest.raises(ResourceError) as info:
            cfg.describe(rtype, name, None, False, False)
        assert info.value.code == code
    with pytest.raises(ResourceError, match=r"Cannot update these configs dynamically: Set\(num.partitions\)"):
        cfg.replace(BROKER, "1", {"num.partitions": "3"}, validate_only=False)
    with pytest.raises(ResourceError) as info:
        cfg.replace(BROKER, "1", {"log.segment.bytes": "10"}, validate_only=False)
    assert info.value.code == ErrorCode.INVALID_REQUEST


def test_dynamic_broker_configs_persist_and_validate_only(make_state):
    state = make_state()
    state.configs.replace(BROKER, "1", {"message.max.bytes": "5000"}, validate_only=True)
    assert state.config.message_max_bytes == 1048588
    state.configs.replace(BROKER, "1", {"message.max.bytes": "5000"}, validate_only=False)
    assert state.config.topic_defaults["max.message.bytes"] == "5000"
    state.close()
    again = make_state()
    assert again.config.topic_defaults["max.message.bytes"] == "5000"
    got = entries(again, BROKER, "1")
    assert (got["message.max.bytes"]["value"], got["message.max.bytes"]["config_source"]) == (
        "5000",
        SOURCE_DYNAMIC_BROKER,
    )
    assert got["num.partitions"]["read_only"] and not got["message.max.bytes"]["read_only"]
    assert got["ssl.key.password"]["is_sensitive"]
