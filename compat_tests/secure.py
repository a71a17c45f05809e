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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = Path(directory)
    files = TlsFiles(
        directory, directory / "ca.pem", directory / "server.pem", directory / "server.key",
        directory / "server.crt", directory / "client.pem", directory / "client.key",
    )
    if all(p.exists() for p in (files.ca, files.server, files.client_cert, files.client_key)):
        return files
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str, ou: str | None = None) -> x509.Name:
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if ou:
            attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
        return x509.Name(attrs)

    def issue(subject: x509.Name, key: Any, issuer: x509.Name, issuer_key: Any, ca: bool = False,
              sans: list[x509.GeneralName] | None = None) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def pem(obj: Any) -> bytes:
        if isinstance(obj, x509.Certificate):
            return obj.public_bytes(serialization.Encoding.PEM)
        return obj.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("kafkalite test CA")
    ca = issue(ca_name, ca_key, ca_name, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = issue(name("localhost"), server_key, ca_name, ca_key, sans=sans)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = issue(name("client", "dev"), client_key, ca_name, ca_key)
    files.ca.write_bytes(pem(ca))
    files.server.write_bytes(pem(server_key) + pem(server) + pem(ca))
    files.server_key.write_bytes(pem(server_key))
    files.server_cert.write_bytes(pem(server) + pem(ca))
    files.client_cert.write_bytes(pem(client))
    files.client_key.write_bytes(pem(client_key))
    return files


# ---- broker settings ---------------------------------------------------------------------------


def secure_settings(
    listener_ports: Mapping[str, int],
    mechanisms: Iterable[str] = ("PLAIN",),
    users: Mapping[str, str] = PLAIN_USERS,
    tls: TlsFiles | None = None,
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
        settings.update({
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(tls.server),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(tls.ca),
        })
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
    proc_port = free_port()
    ports = {"PLAINTEXT": proc_port, **{name: free_port() for name in names}}
    tls = make_tls_files(tmp_path / "tls") if any(n in ("SSL", "SASL_SSL") for n in names) else None
    settings = secure_settings(ports, mechanisms, users, tls, ssl_client_auth, reauth_ms, oauth_options)
    settings["listeners"] = ",".join(f"{name}://127.0.0.1:{port}" for name, port in ports.items())
    settings.update(overrides or {})
    args = [arg for name, value in settings.items() for arg in ("--override", f"{name}={value}")]
    proc = BrokerProcess(data_dir or tmp_path / "data", port=proc_port, extra_args=[*args, *extra_args])
    proc.start()
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


def _address(target: SecureBroker | str, listener: str) -> str:
    return target.bootstrap(listener) if isinstance(target, SecureBroker) else target


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
    if isinstance(target, SecureBroker):
        tls = tls or target.tls
        if password is None:
            password = target.users.get(username)
    conf: dict[str, Any] = {"bootstrap.servers": _address(target, listener), "security.protocol": listener}
    if listener in SASL_PROTOCOLS:
        conf["sasl.mechanism"] = mechanism
        if mechanism == "OAUTHBEARER":
            conf["enable.sasl.oauthbearer.unsecure.jwt"] = True
            conf["sasl.oauthbearer.config"] = f"principal={username}"
        else:
            conf["sasl.username"] = username
            conf["sasl.password"] = password if password is not None else PLAIN_USERS.get(username, "")
    if listener in ("SSL", "SASL_SSL"):
        assert tls is not None, "SSL listeners need the TlsFiles"
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
    if isinstance(target, SecureBroker):
        tls = tls or target.tls
        if password is None:
            password = target.users.get(username)
    conf: dict[str, Any] = {"bootstrap_servers": _address(target, listener), "security_protocol": listener}
    if listener in SASL_PROTOCOLS:
        conf["sasl_mechanism"] = mechanism
        if mechanism == "OAUTHBEARER":
            conf["sasl_oauth_token_provider"] = kafka_python_token_provider(username)
        else:
            conf["sasl_plain_username"] = username
            conf["sasl_plain_password"] = password if password is not None else PLAIN_USERS.get(username, "")
    if listener in ("SSL", "SASL_SSL"):
        assert tls is not None, "SSL listeners need the TlsFiles"
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
    if isinstance(target, SecureBroker):
        tls = tls or target.tls
        if password is None:
            password = target.users.get(username)
    conf: dict[str, Any] = {"bootstrap_servers": _address(target, listener), "security_protocol": listener}
    if listener in SASL_PROTOCOLS:
        conf["sasl_mechanism"] = mechanism
        if mechanism == "OAUTHBEARER":
            conf["sasl_oauth_token_provider"] = aiokafka_token_provider(username)
        else:
            conf["sasl_plain_username"] = username
            conf["sasl_plain_password"] = password if password is not None else PLAIN_USERS.get(username, "")
    if listener in ("SSL", "SASL_SSL"):
        assert tls is not None, "SSL listeners need the TlsFiles"
        from aiokafka.helpers import create_ssl_context

        if client_cert:
            conf["ssl_context"] = create_ssl_context(
                cafile=str(tls.ca), certfile=str(tls.client_cert), keyfile=str(tls.client_key)
            )
        else:
            conf["ssl_context"] = create_ssl_context(cafile=str(tls.ca))
    return conf
