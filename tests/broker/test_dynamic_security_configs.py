"""Per-broker dynamic configs as Kafka's DynamicBrokerConfig takes them (answers checked against Kafka 4.4).

Kerberos and SASL login settings, ``listener.name.<l>.*`` settings and unknown names are
accepted; SSL stores only under a listener prefix; per-broker configs refused on the cluster
default; listener SSL settings validated (the keystore read) before anything changes.
"""

import ssl
from pathlib import Path
from typing import Any

import pytest

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.configs import BROKER, DELETE, SET, SOURCE_DYNAMIC_BROKER, SOURCE_STATIC, ResourceError
from kafkalite.errors import ErrorCode
from kafkalite.server.tls import ReloadableContext, listener_reloader, server_context, write_self_signed
from kafkalite.storage.fs import FaultyFS

KS = "listener.name.ssl.ssl.keystore.location"


@pytest.fixture
def certs(tmp_path: Path) -> tuple[Path, Path]:
    return write_self_signed(tmp_path / "a").keystore, write_self_signed(tmp_path / "b").keystore


def refused(
    state: BrokerState, name: str, configs: dict[str, str | None], validate_only: bool = False
) -> ResourceError:
    with pytest.raises(ResourceError) as exc:
        state.configs.replace(BROKER, name, configs, validate_only)
    return exc.value


def describe(state: BrokerState, name: str = "1") -> dict:
    return {e["name"]: e for e in state.configs.describe(BROKER, name, None, True, False)}


def test_kerberos_and_login_settings_per_broker_not_default(make_state) -> None:
    state = make_state()
    state.configs.replace(BROKER, "1", {"sasl.kerberos.min.time.before.relogin": "58000"}, False)
    got = describe(state)["sasl.kerberos.min.time.before.relogin"]
    assert (got["value"], got["config_source"], got["read_only"]) == ("58000", SOURCE_DYNAMIC_BROKER, False)
    err = refused(state, "", {"sasl.kerberos.min.time.before.relogin": "58000", "min.insync.replicas": "1"})
    assert err.code == ErrorCode.INVALID_REQUEST
    assert err.message == (
        "Cannot update these configs at default cluster level, broker id must be specified: "
        "[sasl.kerberos.min.time.before.relogin]"
    )
    err = refused(state, "1", {"sasl.kerberos.min.time.before.relogin": "abc"})
    assert err.message == "Invalid value abc for configuration sasl.kerberos.min.time.before.relogin: " \
        "Not a number of type LONG"
    # the librdkafka admin test's broker helper: a cluster-wide setting SET then DELETE
    ops = [("background.threads", SET, "9"), ("log.cleanup.policy", 2, "compact")]
    state.configs.replace(BROKER, "1", state.configs.incremental(BROKER, "1", ops), False)
    assert describe(state)["log.cleanup.policy"]["value"] == "delete,compact"
    ops = [("background.threads", DELETE, ""), ("log.cleanup.policy", 3, "compact")]
    state.configs.replace(BROKER, "1", state.configs.incremental(BROKER, "1", ops), False)
    assert "background.threads" not in state.configs.per_broker


def test_security_name_rules_and_messages(make_state) -> None:
    state = make_state()
    err = refused(state, "1", {"ssl.keystore.location": "/x.pem"})
    assert err.message == (
        "These security configs can be dynamically updated only per-listener using the listener prefix: "
        "[ssl.keystore.location]"
    )
    assert refused(state, "1", {"log.dirs": "/x"}).message == "Cannot update these configs dynamically: [log.dirs]"
    err = refused(state, "1", {"listener.name.ssl.ssl.client.auth": "maybe"})
    assert err.message == "Invalid value maybe for configuration ssl.client.auth: " \
        "String must be one of: required, requested, none"
    err = refused(state, "", {"listener.name.ssl.ssl.key.password": "pw", "min.insync.replicas": "1"})
    assert "[listener.name.ssl.ssl.key.password]" in err.message
    assert refused(state, "7", {"a.b": "1"}).message == "Unexpected broker id, expected 1, but received 7"
    # cluster-level listener settings and unknown names go anywhere, as in Kafka
    state.configs.replace(
        BROKER, "", {"listener.name.ssl.max.connections": "10", "foo.bar": "1", "min.insync.replicas": "1"}, False
    )
    state.configs.replace(BROKER, "1", {"listener.name.nope.plain.sasl.jaas.config": "secret", "x.y": "2"}, False)
    got = describe(state, "")
    assert got["listener.name.ssl.max.connections"]["value"] == "10"
    assert got["listener.name.ssl.max.connections"]["read_only"]
    assert got["foo.bar"]["value"] is None and got["foo.bar"]["is_sensitive"] and got["foo.bar"]["config_type"] == 0
    mine = describe(state)
    jaas = mine["listener.name.nope.plain.sasl.jaas.config"]
    assert jaas["value"] is None and jaas["is_sensitive"] and jaas["config_source"] == SOURCE_DYNAMIC_BROKER
    assert all(s["value"] is None for s in jaas["synonyms"])


def _ssl_listener(make_state: Any, keystore: Path) -> tuple[Any, ReloadableContext]:
    """A broker state with an SSL listener serving ``keystore``, its context reloaded by config changes."""
    state = make_state(**{
        "listeners": "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL",
        KS: str(keystore),
    })
    context = ReloadableContext(server_context(state.config, "SSL"))
    state.configs.watch_listener("SSL", listener_reloader(state.config, "SSL", context))
    return state, context


def test_listener_keystore_validated_then_reloaded(make_state, certs, tmp_path: Path) -> None:
    a, b = certs
    state, context = _ssl_listener(make_state, a)
    first = context.current
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    for path in ("/nonexistent/x.pem", str(bad)):
        err = refused(state, "1", {KS: path})
        assert err.code == ErrorCode.INVALID_REQUEST
        assert err.message == (
            "Invalid value org.apache.kafka.common.config.ConfigException: Validation of dynamic config update of "
            "SSLFactory failed: org.apache.kafka.common.errors.InvalidConfigurationException: Failed to load PEM "
            f"SSL keystore {path} for configuration Invalid dynamic configuration"
        )
    assert context.current is first and state.configs.per_broker == {}
    state.configs.replace(BROKER, "1", {KS: str(b)}, validate_only=True)
    assert context.current is first and state.configs.per_broker == {}
    state.configs.replace(BROKER, "1", {KS: str(b)}, validate_only=False)
    assert context.current is not first
    got = describe(state)[KS]
    assert (got["value"], got["config_source"]) == (str(b), SOURCE_DYNAMIC_BROKER)
    assert [(s["value"], s["source"]) for s in got["synonyms"]] == [(str(b), SOURCE_DYNAMIC_BROKER),
                                                                    (str(a), SOURCE_STATIC)]
    # an unrelated change does not rebuild the listener's context
    current = context.current
    state.configs.replace(BROKER, "1", {KS: str(b), "sasl.kerberos.service.name": "kafka"}, False)
    assert context.current is current


def test_listener_keystore_not_reloaded_when_the_configs_cannot_be_saved(make_state, certs) -> None:
    """A full disk: KAFKA_STORAGE_ERROR, the listener keeps its keystore; once space is back the change is made."""
    a, b = certs
    state, context = _ssl_listener(make_state, a)
    first = context.current
    saved = state.config.data_dir / "broker-configs.json"
    before = saved.read_bytes() if saved.exists() else None
    fs = FaultyFS()
    state.catalog.fs = fs
    fs.fill()
    err = refused(state, "1", {KS: str(b), "listener.name.ssl.ssl.key.password": "secret"})
    assert err.code == ErrorCode.KAFKA_STORAGE_ERROR
    assert context.current is first and state.configs.per_broker == {}
    assert (saved.read_bytes() if saved.exists() else None) == before
    fs.free()
    state.configs.replace(BROKER, "1", {KS: str(b)}, False)
    assert context.current is not first and state.configs.per_broker == {KS: str(b)}
    assert saved.stat().st_mode & 0o777 == 0o600  # it may hold listener passwords


def test_saved_listener_settings_apply_at_start(make_state, certs, tmp_path: Path) -> None:
    a, b = certs
    props = {
        "listeners": "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL",
        KS: str(a),
    }
    state = make_state(**props)
    state.configs.replace(BROKER, "1", {KS: str(b)}, False)
    state.close()
    again = make_state(**props)
    context = ReloadableContext(server_context(again.config, "SSL", []))
    static = context.current
    again.configs.watch_listener("SSL", listener_reloader(again.config, "SSL", context))
    assert context.current is not static  # the saved keystore b replaced the static one


def test_truststore_and_client_auth_changes_rebuild_the_listener(make_state, certs, tmp_path: Path) -> None:
    a, _ = certs
    state = make_state(**{
        "listeners": "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL",
        "listener.name.sasl_ssl.ssl.keystore.location": str(a),
    })
    context = ReloadableContext(server_context(state.config, "SASL_SSL"))
    state.configs.watch_listener("SASL_SSL", listener_reloader(state.config, "SASL_SSL", context))
    first = context.current
    trust = "listener.name.sasl_ssl.ssl.truststore.location"
    err = refused(state, "1", {trust: str(tmp_path / "missing-ca.pem")})
    assert err.code == ErrorCode.INVALID_REQUEST and "Validation of dynamic config update of SSLFactory" in err.message
    assert context.current is first
    ca = a.parent / "ca.pem"
    state.configs.replace(BROKER, "1", {trust: str(ca), "listener.name.sasl_ssl.ssl.client.auth": "required"}, False)

    assert context.current is not first and context.current.verify_mode == ssl.CERT_REQUIRED
