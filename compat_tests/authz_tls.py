"""A broker with an authorizer, an admin principal and TLS client-certificate principals, for ACL tests.

The same settings start kafkalite (``BrokerProcess``) and Apache Kafka (``ReferenceKafka``):
``authorizer.class.name`` is Kafka's StandardAuthorizer, the PLAINTEXT listener's User:ANONYMOUS is
the super user (on Kafka it is also the inter-broker and controller principal), and an SSL listener
with ``ssl.client.auth=required`` gives each client certificate its own principal, ``User:CN=<name>``
(Kafka's default ``ssl.principal.mapping.rules``).
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compat_tests.rawclient import RawClient
from compat_tests.secure import CertAuthority, pem, ssl_store_settings, start_kafkalite

STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@dataclass
class Pki:
    """A CA, the broker's certificate (key + chain in one PEM file) and client certificates by name."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server(self) -> Path:
        return self.directory / "server.pem"

    def cert(self, user: str) -> Path:
        return self.directory / f"{user}.pem"

    def key(self, user: str) -> Path:
        return self.directory / f"{user}.key"

    def broker_settings(self) -> dict[str, str]:
        """server.properties settings for an SSL listener that requires client certificates (Kafka's names)."""
        return {**ssl_store_settings(self.server, self.ca), "ssl.client.auth": "required"}

    def confluent(self, user: str, bootstrap: str) -> dict[str, str]:
        return {
            "bootstrap.servers": bootstrap, "security.protocol": "SSL", "ssl.ca.location": str(self.ca),
            "ssl.certificate.location": str(self.cert(user)), "ssl.key.location": str(self.key(user)),
        }

    def kafka_python(self, user: str, bootstrap: str) -> dict[str, str]:
        return {
            "bootstrap_servers": bootstrap, "security_protocol": "SSL", "ssl_cafile": str(self.ca),
            "ssl_certfile": str(self.cert(user)), "ssl_keyfile": str(self.key(user)),
        }

    def context(self, user: str) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        ctx.load_cert_chain(str(self.cert(user)), str(self.key(user)))
        return ctx


def make_pki(directory: Path, users: list[str]) -> Pki:
    """A CA, the broker's certificate and one client certificate ``CN=<user>`` for each of ``users``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = CertAuthority("authz test CA")
    pki = Pki(directory)
    pki.ca.write_bytes(ca.pem)
    pki.server.write_bytes(ca.server_pem())
    for user in users:
        key, cert = ca.issue(user)
        pki.cert(user).write_bytes(pem(cert))
        pki.key(user).write_bytes(pem(key))
    return pki


def authorizer_settings(pki: Pki, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "authorizer.class.name": STANDARD_AUTHORIZER,
        "super.users": "User:ANONYMOUS",
        **pki.broker_settings(),
        **(extra or {}),
    }


class TlsRawClient(RawClient):
    """RawClient over TLS with a client certificate: one request, one response, as ``user``."""

    def __init__(self, bootstrap: str, pki: Pki, user: str) -> None:
        host, port = bootstrap.rsplit(":", 1)
        raw = socket.create_connection((host, int(port)), timeout=10)
        self.sock = pki.context(user).wrap_socket(raw, server_hostname="localhost")
        self.client_id = f"tls-{user}"
        self.correlation = 0


@dataclass
class Secured:
    """A running broker (kafkalite or Kafka) with the authorizer on: ``plain`` is the super user's
    listener, ``tls`` the listener where each client certificate is its own principal."""

    kind: str
    plain: str
    tls: str
    pki: Pki
    process: Any

    def principal(self, user: str) -> str:
        return f"User:CN={user}"

    def stop(self) -> None:
        self.process.stop()


def start_secured(kind: str, directory: Path, users: list[str], extra: dict[str, str] | None = None) -> Secured:
    """kafkalite (``kind`` "kafkalite") or Apache Kafka ("kafka") configured by ``authorizer_settings``."""
    pki = make_pki(directory / "pki", users)
    settings = authorizer_settings(pki, extra)
    if kind == "kafka":
        from kafkalite.conformance.reference import ReferenceKafka

        kafka = ReferenceKafka(extra_listeners={"SSL": "SSL"}, overrides=settings).start()
        return Secured(kind, kafka.bootstrap, kafka.listener_bootstrap("SSL"), pki, kafka)
    proc, ports = start_kafkalite(directory / "data", ["SSL"], settings)
    return Secured(kind, proc.bootstrap, f"127.0.0.1:{ports['SSL']}", pki, proc)
