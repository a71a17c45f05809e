"""Listener parsing (listeners, advertised.listeners, the protocol map) and TLS principal mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkalite.config import BrokerConfig, ConfigError
from kafkalite.server.listeners import resolve_listeners
from kafkalite.server.tls import PrincipalMapper


def _listeners(**settings: str) -> list[tuple[str, str, str, int, tuple[str, int]]]:
    config = BrokerConfig.from_properties({k.replace("_", "."): v for k, v in settings.items()})
    return [(lst.name, lst.protocol, lst.host, lst.port, lst.advertised) for lst in resolve_listeners(config)]


def test_default_is_one_plaintext_listener_from_host_and_port() -> None:
    config = BrokerConfig(host="0.0.0.0", port=0)
    [listener] = resolve_listeners(config)
    assert (listener.name, listener.protocol, listener.host, listener.port) == ("PLAINTEXT", "PLAINTEXT", "0.0.0.0", 0)
    assert listener.advertised == ("localhost", 0)


def test_two_listeners_with_advertised_addresses_by_name() -> None:
    result = _listeners(
        listeners="PLAINTEXT://127.0.0.1:9092,SSL://0.0.0.0:9093",
        advertised_listeners="SSL://public.example:19093,PLAINTEXT://inside:9092",
    )
    assert result == [
        ("PLAINTEXT", "PLAINTEXT", "127.0.0.1", 9092, ("inside", 9092)),
        ("SSL", "SSL", "0.0.0.0", 9093, ("public.example", 19093)),
    ]


def test_custom_names_through_the_protocol_map() -> None:
    result = _listeners(
        listeners="INTERNAL://127.0.0.1:9092,EXTERNAL://127.0.0.1:9093",
        **{
            "listener.security.protocol.map": "INTERNAL:PLAINTEXT,EXTERNAL:SSL",
            "inter.broker.listener.name": "INTERNAL",
        },
    )
    assert [(name, protocol) for name, protocol, *_ in result] == [("INTERNAL", "PLAINTEXT"), ("EXTERNAL", "SSL")]


def test_port_flag_overrides_the_first_listener_only() -> None:
    listeners = "PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093"
    config = BrokerConfig.from_properties({"listeners": listeners}, {"port": "0"})
    assert [lst.port for lst in resolve_listeners(config)] == [0, 9093]


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SASL_SSL"])
def test_sasl_listeners_are_served(protocol: str) -> None:
    result = _listeners(listeners=f"PLAINTEXT://127.0.0.1:9092,{protocol}://127.0.0.1:9093")
    assert [(name, proto) for name, proto, *_ in result] == [("PLAINTEXT", "PLAINTEXT"), (protocol, protocol)]


def test_unknown_protocol_and_unmapped_name_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown security protocol GOPHER"):
        _listeners(listeners="X://127.0.0.1:1", **{"listener.security.protocol.map": "X:GOPHER"})
    with pytest.raises(ConfigError, match="no security protocol"):
        _listeners(listeners="CUSTOM://127.0.0.1:1")


def test_malformed_and_duplicate_listeners_are_refused() -> None:
    with pytest.raises(ConfigError, match="expected NAME://host:port"):
        _listeners(listeners="127.0.0.1:9092")
    with pytest.raises(ConfigError, match="appears twice"):
        _listeners(listeners="PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2")
    with pytest.raises(ConfigError, match="not in listeners"):
        _listeners(listeners="PLAINTEXT://127.0.0.1:1", advertised_listeners="SSL://x:2")


def test_per_listener_settings_are_kept() -> None:
    config = BrokerConfig.from_properties({"listener.name.external.ssl.client.auth": "required"})
    assert config.listener_settings == {"listener.name.external.ssl.client.auth": "required"}


def test_principal_mapping_rules() -> None:
    assert PrincipalMapper("DEFAULT").name("CN=client,OU=dev") == "CN=client,OU=dev"
    mapper = PrincipalMapper("RULE:^CN=(.*?),OU=(.*?)$/$1@$2/L, DEFAULT")
    assert mapper.name("CN=Alice,OU=Dev") == "alice@dev"
    assert mapper.name("O=other") == "O=other"
    assert PrincipalMapper("RULE:^CN=([^,]*).*$/$1/U").name("CN=bob,O=x") == "BOB"
    with pytest.raises(ValueError):
        PrincipalMapper("RULE:^CN=x$/y/").name("CN=z")
    with pytest.raises(ConfigError):
        PrincipalMapper("NOPE")


def test_embedded_broker_binds_a_free_port_per_listener(tmp_path: Path) -> None:
    from kafkalite.embedded import Broker
    from kafkalite.server.tls import write_self_signed

    files = write_self_signed(tmp_path / "tls")
    static = {"listeners": "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0", "ssl.keystore.location": str(files.keystore)}
    broker = Broker(port=0, data_dir=tmp_path / "data", static_configs=static)
    broker.start()
    try:
        addresses = broker.listeners
        assert set(addresses) == {"PLAINTEXT", "SSL"}
        assert addresses["PLAINTEXT"] == ("127.0.0.1", broker.port)
        assert 0 < addresses["SSL"][1] != broker.port
        # Reused, not rewritten, on the next call.
        ca = files.ca.read_bytes()
        assert write_self_signed(tmp_path / "tls") == files and files.ca.read_bytes() == ca
    finally:
        broker.stop()


def test_tls_contexts_from_inline_pem_pkcs12_and_per_listener_settings(tmp_path: Path) -> None:
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from kafkalite.server.tls import server_context, write_self_signed

    files = write_self_signed(tmp_path / "tls")
    pem = files.keystore.read_text()
    key_end = pem.index("-----END PRIVATE KEY-----") + len("-----END PRIVATE KEY-----")
    key, chain = pem[:key_end], pem[key_end:]
    inline = BrokerConfig.from_properties({
        "ssl.keystore.certificate.chain": chain, "ssl.keystore.key": key,
        "ssl.truststore.certificates": files.ca.read_text(), "ssl.client.auth": "required",
        "listener.name.external.ssl.client.auth": "none",
        "listener.name.external.ssl.enabled.protocols": "TLSv1.3",
    })
    assert server_context(inline, "SSL").verify_mode == ssl.CERT_REQUIRED
    external = server_context(inline, "EXTERNAL")
    assert external.verify_mode == ssl.CERT_NONE and external.minimum_version == ssl.TLSVersion.TLSv1_3

    private = serialization.load_pem_private_key(key.encode(), None)
    cert = x509.load_pem_x509_certificate(chain.encode())
    p12 = pkcs12.serialize_key_and_certificates(
        b"kafkalite", private, cert, None, serialization.BestAvailableEncryption(b"secret")  # type: ignore[arg-type]
    )
    (tmp_path / "server.p12").write_bytes(p12)
    config = BrokerConfig.from_properties({
        "ssl.keystore.type": "PKCS12", "ssl.keystore.location": str(tmp_path / "server.p12"),
        "ssl.keystore.password": "secret",
    })
    assert server_context(config, "SSL").verify_mode == ssl.CERT_NONE

    for settings, message in (
        ({"ssl.keystore.type": "JKS", "ssl.keystore.location": "x.jks"}, "ssl.keystore.type=JKS is not supported"),
        ({}, "ssl.keystore.location"),
        ({"ssl.keystore.location": str(files.keystore), "ssl.enabled.protocols": "SSLv3"}, "ssl.enabled.protocols"),
        ({"ssl.keystore.location": str(files.keystore), "ssl.principal.mapping.rules": "bogus"}, "mapping.rules"),
    ):
        with pytest.raises(ConfigError, match=message):
            server_context(BrokerConfig.from_properties(settings), "SSL")
