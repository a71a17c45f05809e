"""Broker and topic config definitions, server.properties parsing and the serve command's handling."""

import dataclasses
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kafkalite.broker.broker import BrokerState
from kafkalite.config import (
    BROKER_CONFIGS,
    CONFIG_NAME,
    LONG,
    TOPIC_CONFIG_DEFAULTS,
    BrokerConfig,
    ConfigDef,
    ConfigError,
    at_least,
    parse_properties,
    topic_default,
    typed_value,
    validate_topic_configs,
)


def test_parse_properties_syntax():
    text = "\n".join(
        [
            "# comment",
            "! also a comment",
            "a=1",
            "b : two",
            "c three",
            "  d   =  spaced value  ",
            "e=line\\",
            "   continued",
            "f=back\\\\slash",
            "g=",
            "key\\=with\\:seps=v",
        ]
    )
    assert parse_properties(text) == {
        "a": "1",
        "b": "two",
        "c": "three",
        "d": "spaced value  ",
        "e": "linecontinued",
        "f": "back\\slash",
        "g": "",
        "key=with:seps": "v",
    }


def test_kafka_names_map_to_settings(tmp_path):
    props = {
        "listeners": "PLAINTEXT://0.0.0.0:19092",
        "advertised.listeners": "PLAINTEXT://myhost:29092",
        "log.dirs": f"{tmp_path}/d1,{tmp_path}/d2",
        "num.partitions": "4",
        "auto.create.topics.enable": "false",
        "message.max.bytes": "2000000",
        "log.retention.hours": "1",
        "log.segment.bytes": "2097152",
        "log.cleanup.policy": "compact",
        "group.initial.rebalance.delay.ms": "250",
        "log.retention.check.interval.ms": "1000",
        "log.cleaner.backoff.ms": "500",
        "node.id": "7",
    }
    cfg = BrokerConfig.from_properties(props)
    assert (cfg.host, cfg.port) == ("0.0.0.0", 19092)
    assert cfg.advertised == ("myhost", 29092)
    assert cfg.data_dir == Path(f"{tmp_path}/d1")
    assert cfg.log_dirs == [Path(f"{tmp_path}/d1"), Path(f"{tmp_path}/d2")]
    assert (cfg.num_partitions, cfg.auto_create_topics, cfg.message_max_bytes) == (4, False, 2000000)
    assert cfg.group_initial_rebalance_delay_ms == 250
    assert (cfg.retention_check_interval_ms, cfg.log_cleaner_backoff_ms, cfg.node_id) == (1000, 500, 7)
    assert cfg.topic_defaults["retention.ms"] == str(3600 * 1000)
    assert cfg.topic_defaults["segment.bytes"] == "2097152"
    assert cfg.topic_defaults["max.message.bytes"] == "2000000"
    assert cfg.topic_defaults["cleanup.policy"] == "compact"


def test_overrides_win_and_port_host(tmp_path):
    cfg = BrokerConfig.from_properties(
        {"listeners": "PLAINTEXT://127.0.0.1:9999", "num.partitions": "2"}, {"port": "0", "num.partitions": "3"}
    )
    assert (cfg.port, cfg.num_partitions) == (0, 3)


def test_retention_ms_beats_minutes_and_hours():
    cfg = BrokerConfig.from_properties({"log.retention.hours": "1", "log.retention.minutes": "2"})
    assert cfg.topic_defaults["retention.ms"] == "120000"
    cfg = BrokerConfig.from_properties({"log.retention.minutes": "2", "log.retention.ms": "-1"})
    assert cfg.topic_defaults["retention.ms"] == "-1"


def test_defaults_are_kafkas():
    cfg = BrokerConfig.from_properties({})
    assert cfg.topic_defaults == TOPIC_CONFIG_DEFAULTS
    assert TOPIC_CONFIG_DEFAULTS["retention.ms"] == "604800000"
    assert TOPIC_CONFIG_DEFAULTS["segment.bytes"] == "1073741824"
    assert cfg.message_max_bytes == 1048588
    assert topic_default("retention.ms", []) == ("604800000", "log.retention.hours", 0)


@pytest.mark.parametrize(
    ("props", "fragment"),
    [
        ({"num.partitions": "abc"}, "num.partitions: Not a number of type INT"),
        ({"num.partitions": "0"}, "Value must be at least 1"),
        ({"auto.create.topics.enable": "yes"}, "either true or false"),
        ({"log.segment.bytes": "1000"}, "Value must be at least 1048576"),
        ({"log.cleanup.policy": "shred"}, "String must be one of: compact, delete"),
        ({"listeners": "localhost:9092"}, "expected NAME://host:port"),
        ({"message.max.bytes": "99999999999"}, "Not a number of type INT"),
        ({"log.cleaner.min.cleanable.ratio": "1.5"}, "Value must be no more than 1"),
    ],
)
def test_invalid_values_fail_with_the_setting_named(props, fragment):
    with pytest.raises(ConfigError, match=fragment):
        BrokerConfig.from_properties(props)


def test_unknown_names_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="kafkalite.config"):
        BrokerConfig.from_properties({"no.such.setting": "1", "num.partitions": "2"})
    assert "no.such.setting" in caplog.text


def test_shipped_kafka_server_properties_loads_quietly(caplog):
    text = """
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
"""
    with caplog.at_level(logging.WARNING, logger="kafkalite.config"):
        cfg = BrokerConfig.from_properties(parse_properties(text))
    assert "unknown configuration" not in caplog.text
    assert (cfg.host, cfg.port) == ("0.0.0.0", 9092)
    assert cfg.retention_check_interval_ms == 300000


def test_topic_config_validation():
    assert validate_topic_configs({"retention.ms": " 1000 ", "cleanup.policy": "compact, delete"}) == {
        "retention.ms": "1000",
        "cleanup.policy": "compact,delete",
    }
    for bad, fragment in [
        ({"retention.ms": "-2"}, "at least -1"),
        ({"no.such": "1"}, "Unknown topic config name: no.such"),
        ({"compression.type": "brotli"}, "String must be one of"),
        ({"min.cleanable.dirty.ratio": "x"}, "Not a number of type DOUBLE"),
        ({"segment.bytes": "100"}, "at least 1048576"),
        ({"message.timestamp.type": "Now"}, "CreateTime, LogAppendTime"),
    ]:
        with pytest.raises(ConfigError, match=fragment):
            validate_topic_configs(bad)


def _serve(*args, timeout=20):
    return subprocess.run(
        [sys.executable, "-m", "kafkalite", "serve", *args], capture_output=True, text=True, timeout=timeout
    )


def test_serve_rejects_invalid_config_file(tmp_path):
    path = tmp_path / "server.properties"
    path.write_text("log.segment.bytes=12\n")
    result = _serve("--config", str(path), "--data-dir", str(tmp_path / "d"))
    assert result.returncode != 0
    assert "log.segment.bytes" in result.stderr and "at least 1048576" in result.stderr
    assert "ready" not in result.stdout


def test_serve_rejects_missing_config_file_and_bad_override(tmp_path):
    result = _serve("--config", str(tmp_path / "nope.properties"))
    assert result.returncode != 0 and "cannot read config file" in result.stderr
    result = _serve("--override", "num.partitions")
    assert result.returncode != 0 and "NAME=VALUE" in result.stderr


# ---- BrokerConfig derived from the ConfigDef table ----------------------------------------------


def test_every_field_default_is_the_table_default() -> None:
    """No default is written twice: each setting field's default is its table entry's, typed."""
    blank = BrokerConfig()
    parsed = BrokerConfig.from_properties({})
    backed = [f for f in dataclasses.fields(BrokerConfig) if CONFIG_NAME in f.metadata]
    assert len(backed) >= 18
    for f in backed:
        defn = BROKER_CONFIGS[f.metadata[CONFIG_NAME]]
        assert getattr(blank, f.name) == typed_value(defn, defn.default), f.name
        assert getattr(parsed, f.name) == getattr(blank, f.name), f.name
    assert blank.static_configs == {}


def test_transaction_max_timeout_is_a_setting_that_reaches_the_coordinator(tmp_path: Path) -> None:
    assert BrokerConfig().transaction_max_timeout_ms == 900000  # Kafka's default, from the table
    cfg = BrokerConfig.from_properties({"log.dirs": str(tmp_path), "transaction.max.timeout.ms": "60000"})
    assert cfg.transaction_max_timeout_ms == 60000
    assert cfg.get("transaction.max.timeout.ms") == 60000
    state = BrokerState(cfg)
    assert state.txns.max_timeout_ms == 60000
    with pytest.raises(ConfigError, match=r"transaction\.max\.timeout\.ms: Value must be at least 1"):
        BrokerConfig.from_properties({"transaction.max.timeout.ms": "0"})


def test_get_reads_any_table_entry_typed() -> None:
    cfg = BrokerConfig.from_properties({"log.cleaner.threads": "2", "listeners": "PLAINTEXT://0.0.0.0:9999"})
    assert cfg.get("log.cleaner.threads") == 2  # static
    assert cfg.get("log.cleaner.io.buffer.load.factor") == 0.9  # table default, DOUBLE
    assert cfg.get("process.roles") == ["broker", "controller"]  # LIST
    assert cfg.get("delete.topic.enable") is True  # BOOLEAN
    assert cfg.get("controller.listener.names") is None  # no default
    assert cfg.get("port") == 9999 and cfg.get("host") == "0.0.0.0"  # fields: what the broker runs with
    with pytest.raises(KeyError, match=r"no\.such\.setting"):
        cfg.get("no.such.setting")


def test_dynamic_layers_win_and_refresh_the_fields_of_dynamic_configs() -> None:
    cfg = BrokerConfig.from_properties({"log.cleaner.backoff.ms": "100", "log.cleaner.threads": "2"})
    assert cfg.log_cleaner_backoff_ms == 100
    cfg.refresh_topic_defaults([{"log.cleaner.backoff.ms": "20"}, {"log.cleaner.threads": "3"}])
    assert cfg.log_cleaner_backoff_ms == 20
    assert cfg.get("log.cleaner.threads") == 3
    cfg.refresh_topic_defaults([])
    assert cfg.log_cleaner_backoff_ms == 100
    assert cfg.get("log.cleaner.threads") == 2


def test_a_new_table_entry_is_available_without_writing_its_default_again(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "kafkalite.test.only.ms"
    monkeypatch.setitem(BROKER_CONFIGS, name, ConfigDef(name, LONG, "1234", at_least(0), "A setting for this test"))
    assert BrokerConfig.from_properties({}).get(name) == 1234
    assert BrokerConfig.from_properties({name: " 5 "}).get(name) == 5
    with pytest.raises(ConfigError, match=re.escape(f"Invalid value -1 for configuration {name}")):
        BrokerConfig.from_properties({name: "-1"})


def test_fields_given_directly_are_static_settings() -> None:
    """The embedded broker passes fields; DescribeConfigs and get() see them as static settings."""
    cfg = BrokerConfig(num_partitions=3, auto_create_topics=False, message_max_bytes=5000)
    assert cfg.static_configs == {"num.partitions": "3", "auto.create.topics.enable": "false",
                                  "message.max.bytes": "5000"}
    assert cfg.topic_defaults["max.message.bytes"] == "5000"
    assert cfg.get("num.partitions") == 3
