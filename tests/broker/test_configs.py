"""Config resources in process: value sources, synonyms, incremental operations, persistence, live logs."""

import pytest

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
from kafkalite.errors import ErrorCode


def entries(state, rtype, name, keys=None):
    return {e["name"]: e for e in state.configs.describe(rtype, name, keys, True, True)}


def test_topic_sources_follow_precedence(make_state):
    state = make_state(**{"log.retention.minutes": "10"})
    state.cluster.create_topic("t", 1, {"segment.ms": "1000"})
    got = entries(state, TOPIC, "t")
    assert (got["segment.ms"]["value"], got["segment.ms"]["config_source"]) == ("1000", SOURCE_TOPIC)
    assert (got["retention.ms"]["value"], got["retention.ms"]["config_source"]) == ("600000", SOURCE_STATIC)
    # As Kafka: synonyms before the first entry naming the primary one (log.retention.ms) are dropped
    assert got["retention.ms"]["synonyms"] == []
    assert got["retention.ms"]["documentation"]
    state.configs.replace(BROKER, "", {"log.retention.ms": "5000", "min.insync.replicas": "1"}, validate_only=False)
    got = entries(state, TOPIC, "t", ["retention.ms"])
    assert list(got) == ["retention.ms"]
    assert (got["retention.ms"]["value"], got["retention.ms"]["config_source"]) == ("5000", SOURCE_DYNAMIC_DEFAULT)
    # log.retention.ms outranks log.retention.minutes whatever the layer, as in Kafka
    assert entries(state, TOPIC, "t")["retention.ms"]["value"] == "5000"
    with pytest.raises(ResourceError) as refused:  # only the primary synonym is dynamic, as in Kafka
        state.configs.replace(BROKER, "1", {"log.retention.hours": "2"}, validate_only=False)
    assert refused.value.code == ErrorCode.INVALID_REQUEST
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
    assert info.value.code == ErrorCode.UNKNOWN_SERVER_ERROR  # as Kafka answers an unknown operation


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
    with pytest.raises(ResourceError, match=r"Cannot update these configs dynamically: \[num.partitions\]"):
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


def test_synonyms_start_at_the_primary_setting(make_state):
    """Kafka lists synonyms layer by layer and drops those before the primary (or described) name."""
    state = make_state()
    state.cluster.create_topic("t", 1, {"cleanup.policy": "compact"})
    got = entries(state, TOPIC, "t")
    assert got["segment.ms"]["synonyms"] == []  # log.roll.ms unset, no default: log.roll.hours is left out
    assert [(s["name"], s["source"]) for s in got["cleanup.policy"]["synonyms"]] == [
        ("cleanup.policy", SOURCE_TOPIC),
        ("log.cleanup.policy", SOURCE_DEFAULT),
    ]
    state.configs.replace(BROKER, "1", {"log.retention.ms": "7000"}, validate_only=False)
    expected = [("log.retention.ms", SOURCE_DYNAMIC_BROKER), ("log.retention.hours", SOURCE_DEFAULT)]
    assert [(s["name"], s["source"]) for s in entries(state, TOPIC, "t")["retention.ms"]["synonyms"]] == expected
    broker = entries(state, BROKER, "1", ["log.retention.ms", "log.retention.hours", "log.retention.minutes"])
    assert [(s["name"], s["source"]) for s in broker["log.retention.ms"]["synonyms"]] == expected
    assert [s["name"] for s in broker["log.retention.hours"]["synonyms"]] == ["log.retention.hours"]
    assert broker["log.retention.minutes"]["synonyms"] == []
    assert broker["log.retention.hours"]["read_only"] and not broker["log.retention.ms"]["read_only"]


def test_cluster_level_min_insync_replicas(make_state):
    """As a Kafka 4 cluster is formatted: min.insync.replicas is a dynamic cluster default that stays."""
    state = make_state(**{"min.insync.replicas": "1"})
    got = entries(state, BROKER, "")
    assert list(got) == ["min.insync.replicas"]
    assert got["min.insync.replicas"]["config_source"] == SOURCE_DYNAMIC_DEFAULT
    with pytest.raises(ResourceError) as refused:
        state.configs.replace(BROKER, "", {"log.retention.ms": "1000"}, validate_only=True)
    assert refused.value.code == ErrorCode.INVALID_CONFIG
    state.configs.replace(BROKER, "", {"min.insync.replicas": "1", "log.retention.ms": "1000"}, validate_only=False)
    assert set(entries(state, BROKER, "")) == {"min.insync.replicas", "log.retention.ms"}


def test_empty_cleanup_policy_keeps_the_log(make_state):
    """Kafka 4 accepts an empty cleanup.policy (SUBTRACT of every policy): neither delete nor compact."""
    state = make_state()
    state.cluster.create_topic("t", 1, {"cleanup.policy": "compact"})
    configs = state.configs.incremental(TOPIC, "t", [("cleanup.policy", SUBTRACT, "compact")])
    assert configs == {"cleanup.policy": ""}
    state.configs.replace(TOPIC, "t", dict(configs), validate_only=False)
    log_config = state.cluster.topics["t"].partitions[0].config
    assert not log_config.delete and not log_config.compact
    with pytest.raises(ResourceError):
        state.configs.incremental(TOPIC, "t", [("retention.ms", 7, "1")])
