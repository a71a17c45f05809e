"""A broker with an authorizer, an admin principal and TLS client-certificate principals, for ACL tests.

The same settings start kafkalite (``BrokerProcess``) and Apache Kafka (``ReferenceKafka``):
``authorizer.class.name`` is Kafka's StandardAuthorizer, the PLAINTEXT listener's User:ANONYMOUS is
the super user (on Kafka it is also the inter-broker and controller principal), and an SSL listener
with ``ssl.client.auth=required`` gives each client certificate its own principal, ``User:CN=<name>``
(Kafka's default ``ssl.principal.mapping.rules``).
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from compat_tests.rawclient import RawClient

STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, issuer_key: ec.EllipticCurvePrivateKey,
           ca: bool = False, server: bool = False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        sans: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(obj: x509.Certificate | ec.EllipticCurvePrivateKey) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


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
        return {
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.server),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca),
            "ssl.client.auth": "required",
        }

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
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("authz test CA", ca_key, "authz test CA", ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _issue("localhost", server_key, "authz test CA", ca_key, server=True)
    (directory / "ca.pem").write_bytes(_pem(ca))
    (directory / "server.pem").write_bytes(_pem(server_key) + _pem(server) + _pem(ca))
    for user in users:
        key = ec.generate_private_key(ec.SECP256R1())
        (directory / f"{user}.pem").write_bytes(_pem(_issue(user, key, "authz test CA", ca_key)))
        (directory / f"{user}.key").write_bytes(_pem(key))
    return Pki(directory)


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
    from compat_tests.brokerproc import BrokerProcess, free_port

    port = free_port()
    args = ["--override", f"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:{port}"]
    for key, value in settings.items():
        args += ["--override", f"{key}={value}"]
    proc = BrokerProcess(directory / "data", extra_args=args)
    proc.start()
    return Secured(kind, proc.bootstrap, f"127.0.0.1:{port}", pki, proc)
