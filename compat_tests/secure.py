"""Helpers to run kafkalite (and Apache Kafka, configured the same way) with SASL and SSL listeners.

One place for the broker settings (Kafka's own names, so the same dict configures the reference
Kafka), the development certificates and the client settings of confluent-kafka, kafka-python and
aiokafka. A secured kafkalite always keeps a PLAINTEXT listener first, on ``BrokerProcess.port``:
that is the port the process runner waits on, and tests can use it to set things up (topics, ACLs)
without credentials.

    broker = start_secure_broker(tmp_path, listeners=("SASL_PLAINTEXT", "SASL_SSL"), mechanisms=("PLAIN",))
    try:
        conf = confluent_conf(broker, "SASL_SSL", "PLAIN", "alice", "alice-secret")
        ...
    finally:
        broker.stop()

Users: ``PLAIN_USERS`` (admin, alice, bob) go into the PLAIN JAAS config of every SASL listener.
OAUTHBEARER uses Kafka's unsecured development tokens (``alg: none``): ``unsecured_jwt`` makes one,
librdkafka makes its own from ``sasl.oauthbearer.config=principal=<name>``.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from compat_tests.brokerproc import BrokerProcess, free_port

PLAIN_USERS: dict[str, str] = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}
SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
OAUTH_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"


def plain_jaas(users: Mapping[str, str] = PLAIN_USERS, login: tuple[str, str] | None = None) -> str:
    """A PlainLoginModule JAAS line with ``user_<name>="<password>"`` entries (Kafka's format).

    ``login`` is the broker's own (username, password), which Kafka needs for inter-broker SASL;
    by default the first user.
    """
    if login is None and users:
        login = next(iter(users.items()))
    parts = [PLAIN_MODULE, "required"]
    if login is not None:
        parts += [f'username="{login[0]}"', f'password="{login[1]}"']
    parts += [f'user_{name}="{password}"' for name, password in users.items()]
    return " ".join(parts) + ";"


def oauth_jaas(**options: str) -> str:
    """An OAuthBearerLoginModule JAAS line; options such as ``unsecuredValidatorRequiredScope``."""
    parts = [OAUTH_MODULE, "required", 'unsecuredLoginStringClaim_sub="admin"']
    parts += [f'{name}="{value}"' for name, value in options.items()]
    return " ".join(parts) + ";"


# ---- certificates ------------------------------------------------------------------------------
# One way to make test certificates (EC P-256, SHA-256, valid from five minutes ago for 30 days):
# the harnesses below (make_tls_files here, authz_tls.make_pki, security_clients.write_certs) and
# test_tls.py differ only in which certificates they issue and how they lay them out in files.


def x509_name(cn: str, ou: str | None = None) -> Any:
    """``CN=<cn>`` or ``CN=<cn>,OU=<ou>`` (RFC 4514 order: the principal ``User:CN=client,OU=dev``)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if ou:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    return x509.Name(attrs)


def pem(*objs: Any) -> bytes:
    """Certificates and private keys (PKCS#8, unencrypted) as PEM, concatenated in the order given."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    out = b""
    for obj in objs:
        if isinstance(obj, x509.Certificate):
            out += obj.public_bytes(serialization.Encoding.PEM)
        else:
            out += obj.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
    return out


class CertAuthority:
    """A self-signed test CA that issues (key, certificate) pairs."""

    def __init__(self, cn: str) -> None:
        self.key = _new_key()
        self.name = x509_name(cn)
        self.cert = self._sign(self.name, self.key, ca=True)
        self.pem = pem(self.cert)

    def issue(self, cn: str, ou: str | None = None, server: bool = False) -> tuple[Any, Any]:
        """A new key and its certificate; ``server``: SANs localhost and 127.0.0.1, for hostname checks."""
        key = _new_key()
        return key, self._sign(x509_name(cn, ou), key, server=server)

    def server_pem(self) -> bytes:
        """A new localhost key + certificate chain in one PEM file (the broker's ``ssl.keystore.type=PEM``)."""
        key, cert = self.issue("localhost", server=True)
        return pem(key, cert, self.cert)

    def _sign(self, subject: Any, key: Any, ca: bool = False, server: bool = False) -> Any:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(self.name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:  # keyCertSign + cRLSign: strict verifiers want the usage on a CA
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
        if server:
            sans: list[x509.GeneralName] = [
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
            ]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(self.key, hashes.SHA256())


def _new_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def ssl_store_settings(server: Path, ca: Path) -> dict[str, str]:
    """Kafka's keystore/truststore settings for PEM files: the broker's key+chain, the CA it trusts."""
    return {
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(server),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(ca),
    }


class KeyStores(Protocol):
    """What the broker's SSL settings need of a set of certificate files."""

    @property
    def ca(self) -> Path: ...

    @property
    def server(self) -> Path: ...


@dataclass(frozen=True)
class TlsFiles:
    """A CA, the broker's localhost certificate and one client certificate it signed (PEM files)."""

    directory: Path
    ca: Path  # the CA certificate: the clients' truststore and the broker's for client certificates
    server: Path  # the broker's private key + certificate chain (ssl.keystore.location, type PEM)
    server_key: Path
    server_cert: Path
    client_cert: Path  # subject "CN=client,OU=dev": principal User:CN=client,OU=dev
    client_key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """Write (or reuse) the CA, server and client certificates in ``directory``."""
    directory = Path(directory)
    files = TlsFiles(
        directory, directory / "ca.pem", directory / "server.pem", directory / "server.key",
        directory / "server.crt", directory / "client.pem", directory / "client.key",
    )
    if all(p.exists() for p in (files.ca, files.server, files.client_cert, files.client_key)):
        return files
    directory.mkdir(parents=True, exist_ok=True)
    ca = CertAuthority("kafkalite test CA")
    server_key, server = ca.issue("localhost", server=True)
    client_key, client = ca.issue("client", "dev")
    files.ca.write_bytes(ca.pem)
    files.server.write_bytes(pem(server_key, server, ca.cert))
    files.server_key.write_bytes(pem(server_key))
    files.server_cert.write_bytes(pem(server, ca.cert))
    files.client_cert.write_bytes(pem(client))
    files.client_key.write_bytes(pem(client_key))
    return files


# ---- broker settings ---------------------------------------------------------------------------


def secure_settings(
    listener_ports: Mapping[str, int],
    mechanisms: Iterable[str] = ("PLAIN",),
    users: Mapping[str, str] = PLAIN_USERS,
    tls: KeyStores | None = None,
    ssl_client_auth: str | None = None,
    reauth_ms: int | None = None,
    oauth_options: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Kafka-named broker settings for SASL/SSL listeners (not ``listeners`` itself).

    ``listener_ports`` names the listeners (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL: each name is
    its own protocol). The same settings configure ReferenceKafka (see ``reference_kafka_kwargs``).
    """
    mechanisms = list(mechanisms)
    settings: dict[str, str] = {}
    names = [name for name in listener_ports if name != "PLAINTEXT"]
    if any(name in ("SSL", "SASL_SSL") for name in names):
        if tls is None:
            raise ValueError("SSL and SASL_SSL listeners need tls=make_tls_files(...)")
        settings.update(ssl_store_settings(tls.server, tls.ca))
        if ssl_client_auth:
            settings["listener.name.ssl.ssl.client.auth"] = ssl_client_auth
    if any(name in SASL_PROTOCOLS for name in names):
        settings["sasl.enabled.mechanisms"] = ",".join(mechanisms)
        for name in names:
            if name not in SASL_PROTOCOLS:
                continue
            prefix = f"listener.name.{name.lower()}."
            for mechanism in mechanisms:
                if mechanism == "PLAIN":
                    jaas = plain_jaas(users)
                elif mechanism == "OAUTHBEARER":
                    jaas = oauth_jaas(**dict(oauth_options or {}))
                else:  # SCRAM-SHA-256/512: credentials come from the SCRAM store (--add-scram)
                    jaas = f"{SCRAM_MODULE} required;"
                settings[f"{prefix}{mechanism.lower()}.sasl.jaas.config"] = jaas
        if reauth_ms is not None:
            settings["connections.max.reauth.ms"] = str(reauth_ms)
    return settings


@dataclass
class SecureBroker:
    """A kafkalite process with a PLAINTEXT listener first and the secured listeners after it."""

    proc: BrokerProcess
    ports: dict[str, int]  # listener name -> port
    settings: dict[str, str]
    tls: TlsFiles | None = None
    users: dict[str, str] = field(default_factory=lambda: dict(PLAIN_USERS))

    def bootstrap(self, listener: str = "SASL_PLAINTEXT") -> str:
        return f"127.0.0.1:{self.ports[listener]}"

    @property
    def plaintext(self) -> str:
        """The unsecured listener, for setting things up."""
        return self.proc.bootstrap

    def stop(self) -> int:
        return self.proc.stop()


def proc_listeners(ports: Mapping[str, int]) -> str:
    """The ``listeners`` setting for these listener names (each its own protocol) on 127.0.0.1."""
    return ",".join(f"{name}://127.0.0.1:{port}" for name, port in ports.items())


def start_kafkalite(
    data_dir: Path, listeners: Iterable[str], settings: Mapping[str, str], extra_args: Iterable[str] = ()
) -> tuple[BrokerProcess, dict[str, int]]:
    """Start kafkalite with PLAINTEXT first and ``listeners`` after it, each on a free port.

    PLAINTEXT goes first because its port is the one the process runner waits on (and where tests
    set things up without credentials). ``settings`` are Kafka-named (``--override``; a ``listeners``
    among them wins); returns the process and each listener's port.
    """
    ports = {"PLAINTEXT": free_port(), **{name: free_port() for name in listeners if name != "PLAINTEXT"}}
    conf = {"listeners": proc_listeners(ports), **settings}
    args = [arg for name, value in conf.items() for arg in ("--override", f"{name}={value}")]
    proc = BrokerProcess(data_dir, port=ports["PLAINTEXT"], extra_args=[*args, *extra_args])
    proc.start()
    return proc, ports


def start_secure_broker(
    tmp_path: Path,
    listeners: Iterable[str] = ("SASL_PLAINTEXT",),
    mechanisms: Iterable[str] = ("PLAIN",),
    users: Mapping[str, str] = PLAIN_USERS,
    overrides: Mapping[str, str] | None = None,
    extra_args: Iterable[str] = (),
    ssl_client_auth: str | None = None,
    reauth_ms: int | None = None,
    oauth_options: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
) -> SecureBroker:
    """Start kafkalite with PLAINTEXT plus ``listeners`` (SSL, SASL_PLAINTEXT, SASL_SSL) on free ports.

    ``overrides`` are more Kafka settings (they win); ``extra_args`` more ``serve`` arguments
    (e.g. ``--add-scram`` once the scram branch has it). Certificates go in ``tmp_path / "tls"``.
    """
    names = [name for name in listeners if name != "PLAINTEXT"]
    tls = make_tls_files(tmp_path / "tls") if any(n in ("SSL", "SASL_SSL") for n in names) else None
    settings = secure_settings(dict.fromkeys(names, 0), mechanisms, users, tls, ssl_client_auth, reauth_ms,
                               oauth_options)
    settings.update(overrides or {})
    proc, ports = start_kafkalite(data_dir or tmp_path / "data", names, settings, extra_args)
    settings = {"listeners": proc_listeners(ports), **settings}
    return SecureBroker(proc, ports, settings, tls, dict(users))


def reference_kafka_kwargs(
    listeners: Iterable[str] = ("SASL_PLAINTEXT",),
    mechanisms: Iterable[str] = ("PLAIN",),
    users: Mapping[str, str] = PLAIN_USERS,
    tls: TlsFiles | None = None,
    overrides: Mapping[str, str] | None = None,
    reauth_ms: int | None = None,
    oauth_options: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``ReferenceKafka(**kwargs)`` for Apache Kafka with the same listeners, mechanisms and users.

    Add SCRAM users with ``add_scram=[...]`` yourself; then ``.listener_bootstrap(name)``.
    """
    names = [name for name in listeners if name != "PLAINTEXT"]
    settings = secure_settings({n: 0 for n in names}, mechanisms, users, tls, None, reauth_ms, oauth_options)
    settings.update(overrides or {})
    return {"extra_listeners": {name: name for name in names}, "overrides": settings}


# ---- client settings ---------------------------------------------------------------------------


SSL_PROTOCOLS = ("SSL", "SASL_SSL")


def _login(
    target: SecureBroker | str, listener: str, username: str, password: str | None, tls: TlsFiles | None
) -> tuple[str, str, TlsFiles | None]:
    """(bootstrap, password, TlsFiles) a client uses: a SecureBroker fills in its own users and
    certificates; an unknown user's password falls back to ``PLAIN_USERS`` (or empty)."""
    address = target
    if isinstance(target, SecureBroker):
        address = target.bootstrap(listener)
        tls = tls or target.tls
        if password is None:
            password = target.users.get(username)
    if listener in SSL_PROTOCOLS:
        assert tls is not None, "SSL listeners need the TlsFiles"
    return str(address), password if password is not None else PLAIN_USERS.get(username, ""), tls


def confluent_conf(
    target: SecureBroker | str,
    listener: str = "SASL_PLAINTEXT",
    mechanism: str = "PLAIN",
    username: str = "alice",
    password: str | None = None,
    tls: TlsFiles | None = None,
    client_cert: bool = False,
) -> dict[str, Any]:
    """librdkafka (confluent-kafka) settings; ``target`` a SecureBroker or a bootstrap string.

    OAUTHBEARER uses librdkafka's unsecured JWT (``principal=<username>``).
    """
    address, password, tls = _login(target, listener, username, password, tls)
    conf: dict[str, Any] = {"bootstrap.servers": address, "security.protocol": listener}
    if listener in SASL_PROTOCOLS:
        conf["sasl.mechanism"] = mechanism
        if mechanism == "OAUTHBEARER":
            conf["enable.sasl.oauthbearer.unsecure.jwt"] = True
            conf["sasl.oauthbearer.config"] = f"principal={username}"
        else:
            conf["sasl.username"] = username
            conf["sasl.password"] = password
    if tls is not None and listener in SSL_PROTOCOLS:
        conf["ssl.ca.location"] = str(tls.ca)
        if client_cert:
            conf["ssl.certificate.location"] = str(tls.client_cert)
            conf["ssl.key.location"] = str(tls.client_key)
    return conf


def unsecured_jwt(
    principal: str, lifetime_s: float = 3600, scope: str | list[str] | None = None,
    claim_name: str = "sub", issued_at: float | None = None, **claims: Any,
) -> str:
    """An unsecured JWS (``alg: none``, empty signature) as Kafka's development OAUTHBEARER expects."""
    now = time.time() if issued_at is None else issued_at
    body: dict[str, Any] = {claim_name: principal, "iat": int(now), "exp": int(now + lifetime_s), **claims}
    if scope is not None:
        body["scope"] = scope

    def b64(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none'})}.{b64(body)}."


def kafka_python_token_provider(principal: str, lifetime_s: float = 3600, **kwargs: Any) -> Any:
    """A kafka-python AbstractTokenProvider subclass instance for unsecured tokens."""
    from kafka.net.sasl.oauth import AbstractTokenProvider

    class Provider(AbstractTokenProvider):  # type: ignore[misc]
        def token(self) -> str:
            return unsecured_jwt(principal, lifetime_s, **kwargs)

    return Provider()


def aiokafka_token_provider(principal: str, lifetime_s: float = 3600, **kwargs: Any) -> Any:
    """An aiokafka AbstractTokenProvider (async ``token()``) for unsecured tokens."""
    from aiokafka.abc import AbstractTokenProvider

    class Provider(AbstractTokenProvider):  # type: ignore[misc]
        async def token(self) -> str:
            return unsecured_jwt(principal, lifetime_s, **kwargs)

    return Provider()


def _python_conf(
    target: SecureBroker | str, listener: str, mechanism: str, username: str, password: str | None,
    tls: TlsFiles | None, token_provider: Any,
) -> tuple[dict[str, Any], TlsFiles | None]:
    """The keyword arguments kafka-python and aiokafka share (all but SSL, which they take differently)."""
    address, password, tls = _login(target, listener, username, password, tls)
    conf: dict[str, Any] = {"bootstrap_servers": address, "security_protocol": listener}
    if listener in SASL_PROTOCOLS:
        conf["sasl_mechanism"] = mechanism
        if mechanism == "OAUTHBEARER":
            conf["sasl_oauth_token_provider"] = token_provider(username)
        else:
            conf["sasl_plain_username"] = username
            conf["sasl_plain_password"] = password
    return conf, tls if listener in SSL_PROTOCOLS else None


def kafka_python_conf(
    target: SecureBroker | str,
    listener: str = "SASL_PLAINTEXT",
    mechanism: str = "PLAIN",
    username: str = "alice",
    password: str | None = None,
    tls: TlsFiles | None = None,
    client_cert: bool = False,
) -> dict[str, Any]:
    """kafka-python keyword arguments (KafkaProducer, KafkaConsumer, KafkaAdminClient)."""
    conf, tls = _python_conf(target, listener, mechanism, username, password, tls, kafka_python_token_provider)
    if tls is not None:
        conf["ssl_cafile"] = str(tls.ca)
        if client_cert:
            conf["ssl_certfile"] = str(tls.client_cert)
            conf["ssl_keyfile"] = str(tls.client_key)
    return conf


def aiokafka_conf(
    target: SecureBroker | str,
    listener: str = "SASL_PLAINTEXT",
    mechanism: str = "PLAIN",
    username: str = "alice",
    password: str | None = None,
    tls: TlsFiles | None = None,
    client_cert: bool = False,
) -> dict[str, Any]:
    """aiokafka keyword arguments (AIOKafkaProducer, AIOKafkaConsumer)."""
    conf, tls = _python_conf(target, listener, mechanism, username, password, tls, aiokafka_token_provider)
    if tls is not None:
        from aiokafka.helpers import create_ssl_context

        cert = {"certfile": str(tls.client_cert), "keyfile": str(tls.client_key)} if client_cert else {}
        conf["ssl_context"] = create_ssl_context(cafile=str(tls.ca), **cert)
    return conf


def confluent_round_trip(
    conf: Mapping[str, Any], topic: str, count: int = 20, total: int | None = None, prefix: str = "v"
) -> list[bytes]:
    """confluent-kafka produces ``count`` records ``<prefix><i>`` to partition 0 of ``topic``, then a
    consumer reads the partition from the start until ``total`` (default ``count``) are back or 20 s
    pass; returns what it read."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    total = total or count
    producer = Producer(dict(conf))
    for i in range(count):
        producer.produce(topic, value=f"{prefix}{i}".encode())
    assert producer.flush(20) == 0
    consumer = Consumer({**conf, "group.id": f"g-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    out: list[bytes] = []
    deadline = time.monotonic() + 20
    while len(out) < total and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            out.append(msg.value())
    consumer.close()
    return out
