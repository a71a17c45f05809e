"""The broker's listeners: ``listeners``, ``advertised.listeners`` and ``listener.security.protocol.map``.

Each listener has a name, a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL), a bind
address and the address clients are told to use. The first listener is the default one: its address
is ``host``/``port`` (so ``--host``/``--port`` keep working), and with ``port=0`` each listener binds
its own free port. A listener whose protocol is unknown stops the broker at start: it must never be
served as plaintext. SASL listeners carry their mechanism table (security/mechanisms.py), SSL and
SASL_SSL ones their TLS context (server/tls.py), both built by the server before it listens.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kafkalite.config import BROKER_CONFIGS, BrokerConfig, ConfigError, advertised_address, parse_listener_list

if TYPE_CHECKING:
    from kafkalite.security.sasl_state import SaslListenerConfig

SERVED_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KNOWN_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
TLS_PROTOCOLS = ("SSL", "SASL_SSL")
SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")


@dataclass
class Listener:
    name: str
    protocol: str
    host: str
    port: int  # the bound port once the server listens
    advertised_host: str | None = None
    advertised_port: int | None = None
    ssl_context: ssl.SSLContext | None = None
    sasl: SaslListenerConfig | None = None  # SASL_PLAINTEXT / SASL_SSL: the mechanisms it serves

    @property
    def advertised(self) -> tuple[str, int]:
        """The address Metadata, DescribeCluster and FindCoordinator give clients of this listener."""
        return advertised_address(self.host, self.port, self.advertised_host, self.advertised_port)


def protocol_map(config: BrokerConfig) -> dict[str, str]:
    """Listener name -> security protocol: the standard names map to themselves, then the setting."""
    result = {name: name for name in KNOWN_PROTOCOLS}
    value = config.get("listener.security.protocol.map") or ""
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        name, sep, protocol = item.partition(":")
        if not sep or not name.strip() or not protocol.strip():
            raise ConfigError(
                f"Invalid value {value} for configuration listener.security.protocol.map: expected NAME:PROTOCOL"
            )
        result[name.strip().upper()] = protocol.strip().upper()
    return result


def resolve_listeners(config: BrokerConfig) -> list[Listener]:
    """The listeners to open, first the default one; ConfigError for an unserved or unknown protocol."""
    value = config.static_configs.get("listeners")
    triples = parse_listener_list(value, "listeners") if value else [("PLAINTEXT", config.host, config.port)]
    protocols = protocol_map(config)
    advertised_value = config.static_configs.get("advertised.listeners")
    advertised_triples = parse_listener_list(advertised_value, "advertised.listeners") if advertised_value else []
    advertised = {name: (host, port) for name, host, port in advertised_triples}
    for name in advertised:
        if name not in {n for n, _, _ in triples}:
            raise ConfigError(f"advertised.listeners names {name}, which is not in listeners")
    listeners: list[Listener] = []
    for index, (name, host, port) in enumerate(triples):
        protocol = protocols.get(name)
        where = f"{name}://{host}:{port}"
        if protocol is None:
            raise ConfigError(f"listener {where} has no security protocol in listener.security.protocol.map")
        if protocol not in SERVED_PROTOCOLS:
            raise ConfigError(f"unknown security protocol {protocol} for listener {where}")
        if index == 0:  # the default listener: --host/--port and advertised.host.name/port win
            listener = Listener(
                name, protocol, config.host, config.port, config.advertised_host, config.advertised_port
            )
        else:
            adv_host, adv_port = advertised.get(name, (None, None))
            listener = Listener(name, protocol, host, port, adv_host, adv_port)
        listeners.append(listener)
    return listeners


def listener_lookup(config: BrokerConfig, listener: str) -> Callable[[str], Any]:
    """Setting ``name`` for ``listener``: ``listener.name.<listener>.<name>`` first, then the broker
    setting (None for a name outside the broker table, such as ``plain.sasl.jaas.config``)."""

    def get(name: str) -> Any:
        for key in (f"listener.name.{listener.lower()}.{name}", f"listener.name.{listener}.{name}"):
            if key in config.listener_settings:
                return config.listener_settings[key]
        return config.get(name) if name in BROKER_CONFIGS else None

    return get
