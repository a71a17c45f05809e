"""The secured broker and the case list behind compat_tests/test_security_clients.py.

One broker serves every case: PLAINTEXT (where the test itself creates topics and SCRAM users),
SASL_PLAINTEXT and SASL_SSL with PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER (unsecured
JWS tokens, Kafka's development default), and SSL with required client certificates. It is
configured with Kafka's own setting names only, so the same settings start kafkalite
(``--override``) or Apache Kafka itself (``ReferenceKafka``), and the same tests prove themselves
against the reference (``KAFKALITE_SECURITY_REFERENCE=1``).

A case is one client connection attempt: protocol, mechanism and credentials in, and what the
client should see out (records back, an authentication error, or an SSL error). The Java, Go and
JavaScript programs get the whole list as JSON (``Case.wire``) and run every case in one process.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from compat_tests.brokerproc import BrokerProcess, free_port

#: The principal every successful case authenticates as (a super user: the matrix is about
#: authentication; authorization has its own cases with ``NO_ACL_USER``).
USER, PASSWORD = "alice", "alice-secret"
#: A principal with no ACLs at all.
NO_ACL_USER, NO_ACL_PASSWORD = "bob", "bob-secret"
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
#: Records per round trip.
COUNT = 10

_PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
               f'user_{USER}="{PASSWORD}" user_{NO_ACL_USER}="{NO_ACL_PASSWORD}";')
_SCRAM_JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
_OAUTH_JAAS = ('org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required '
               'unsecuredLoginStringClaim_sub="admin";')


# ---- certificates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    """PEM files: the CA, the broker's key+chain, a client certificate the CA signed (CN=alice) and
    one from another CA the broker does not trust."""

    ca: Path
    server: Path
    client_cert: Path
    client_key: Path
    client_pem: Path  # key + certificate in one file (Java's PEM keystore, kcat)
    rogue_cert: Path
    rogue_key: Path
    rogue_pem: Path


def write_certs(directory: Path) -> Certs:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def issue(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, issuer_key: ec.EllipticCurvePrivateKey,
              ca: bool = False, server: bool = False) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        if server:
            sans: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                            x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def pem(obj: Any) -> bytes:
        if isinstance(obj, x509.Certificate):
            return obj.public_bytes(serialization.Encoding.PEM)
        return bytes(obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))

    keys = {n: ec.generate_private_key(ec.SECP256R1()) for n in ("ca", "rogue-ca", "server", "client", "rogue")}
    ca = issue("test CA", keys["ca"], "test CA", keys["ca"], ca=True)
    rogue_ca = issue("rogue CA", keys["rogue-ca"], "rogue CA", keys["rogue-ca"], ca=True)
    server = issue("localhost", keys["server"], "test CA", keys["ca"], server=True)
    client = issue(USER, keys["client"], "test CA", keys["ca"])
    rogue = issue(USER, keys["rogue"], "rogue CA", keys["rogue-ca"])
    files = {
        "ca.pem": pem(ca), "server.pem": pem(keys["server"]) + pem(server) + pem(ca),
        "client.crt": pem(client) + pem(ca), "client.key": pem(keys["client"]),
        "client.pem": pem(keys["client"]) + pem(client) + pem(ca),
        "rogue.crt": pem(rogue) + pem(rogue_ca), "rogue.key": pem(keys["rogue"]),
        "rogue.pem": pem(keys["rogue"]) + pem(rogue) + pem(rogue_ca),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for file, data in files.items():
        (directory / file).write_bytes(data)
    d = directory
    return Certs(d / "ca.pem", d / "server.pem", d / "client.crt", d / "client.key", d / "client.pem",
                 d / "rogue.crt", d / "rogue.key", d / "rogue.pem")


# ---- tokens ----------------------------------------------------------------------------------


def unsecured_jws(subject: str, lifetime_s: float) -> str:
    """An unsecured JWS (``alg: none``) as Kafka's OAuthBearerUnsecuredJws reads it; a negative
    lifetime makes a token that expired that long ago."""
    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    now = time.time()
    issued = min(now, now + lifetime_s) - 60
    return f"{b64({'alg': 'none'})}.{b64({'sub': subject, 'iat': issued, 'exp': now + lifetime_s})}."


# ---- cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One connection attempt by one client. ``expect`` is ``ok`` (round trip), ``sasl`` (the broker
    refuses the login: SASL_AUTHENTICATION_FAILED), ``ssl`` (the broker refuses the client certificate)
    or ``authz`` (authenticated, but no ACL allows the principal anything)."""

    id: str
    protocol: str
    mechanism: str | None = None
    user: str = USER
    password: str | None = None
    token: str | None = None  # OAUTHBEARER: the compact JWS to present ("valid"/"expired" until for_client)
    expect: str = "ok"
    cert: str | None = None  # SSL: client certificate (chain) and key, PEM
    key: str | None = None
    keystore: str | None = None  # the same as one PEM file (key first)
    topic: str = ""
    values: list[str] = field(default_factory=list)

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def wire(self, bootstrap: str, ca: Path) -> dict[str, Any]:
        """The case as the Java/Go/JS programs read it."""
        return {**asdict(self), "bootstrap": bootstrap, "ca": str(ca), "count": COUNT}


def cases() -> list[Case]:
    """Every case of the matrix (``cert`` names the client certificate: ``client`` or ``rogue``); a
    client's copy gets file paths and topics from ``for_client``."""
    out: list[Case] = []
    for protocol in SASL_PROTOCOLS:
        for mechanism in MECHANISMS:
            oauth = mechanism == "OAUTHBEARER"
            out.append(Case(f"{protocol}-{mechanism}", protocol, mechanism,
                            password=None if oauth else PASSWORD,
                            token="valid" if oauth else None))
    out.append(Case("SSL-client-cert", "SSL", cert="client"))
    out += [
        Case("wrong-password-PLAIN", "SASL_PLAINTEXT", "PLAIN", password="not-the-password", expect="sasl"),
        Case("wrong-password-SCRAM-SHA-256", "SASL_SSL", "SCRAM-SHA-256", password="not-the-password",
             expect="sasl"),
        Case("wrong-password-SCRAM-SHA-512", "SASL_PLAINTEXT", "SCRAM-SHA-512", password="not-the-password",
             expect="sasl"),
        Case("expired-token-OAUTHBEARER", "SASL_PLAINTEXT", "OAUTHBEARER", token="expired", expect="sasl"),
        Case("untrusted-client-cert", "SSL", cert="rogue", expect="ssl"),
        # Authenticated, but no ACL lets User:bob write the topic.
        Case("no-acl-produce", "SASL_PLAINTEXT", "PLAIN", user=NO_ACL_USER, password=NO_ACL_PASSWORD, expect="authz"),
    ]
    return out


def for_client(all_cases: list[Case], client: str, certs: Certs) -> list[Case]:
    """The cases with certificate paths, tokens, a topic of their own and the values a round trip sends."""
    out = []
    for case in all_cases:
        extra: dict[str, str | None] = {}
        if case.cert:
            extra = {"cert": str(getattr(certs, f"{case.cert}_cert")), "key": str(getattr(certs, f"{case.cert}_key")),
                     "keystore": str(getattr(certs, f"{case.cert}_pem"))}
        if case.token:  # made now, so a long test session never presents a token that expired meanwhile
            extra["token"] = unsecured_jws(case.user, 3600 if case.token == "valid" else -600)
        topic = f"sec-{client}-{case.id}".lower()
        values = [f"{client}/{case.id}/{i}" for i in range(COUNT)]
        out.append(Case(**{**asdict(case), **extra, "topic": topic, "values": values}))
    return out


# ---- the broker ------------------------------------------------------------------------------


def settings(certs: Certs) -> dict[str, str]:
    """The secured listeners' settings, in Kafka's names (listener addresses are the broker's own)."""
    conf = {
        "sasl.enabled.mechanisms": ",".join(MECHANISMS),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs.server),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(certs.ca),
        "listener.name.ssl.ssl.client.auth": "required",
        # The client certificate's subject "CN=alice" is the principal User:alice.
        "ssl.principal.mapping.rules": "RULE:^CN=(.*)$/$1/,DEFAULT",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        # ANONYMOUS: the PLAINTEXT listener the test itself sets up topics and users on.
        "super.users": f"User:{USER};User:ANONYMOUS",
    }
    for listener in ("sasl_plaintext", "sasl_ssl"):
        conf[f"listener.name.{listener}.plain.sasl.jaas.config"] = _PLAIN_JAAS
        conf[f"listener.name.{listener}.scram-sha-256.sasl.jaas.config"] = _SCRAM_JAAS
        conf[f"listener.name.{listener}.scram-sha-512.sasl.jaas.config"] = _SCRAM_JAAS
        conf[f"listener.name.{listener}.oauthbearer.sasl.jaas.config"] = _OAUTH_JAAS
    return conf


class SecuredBroker(Protocol):
    name: str
    plaintext: str

    def bootstrap(self, protocol: str) -> str: ...


@dataclass
class Running:
    name: str
    plaintext: str
    listeners: dict[str, str]

    def bootstrap(self, protocol: str) -> str:
        return self.listeners[protocol]


PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL", "SSL")


@contextmanager
def start_kafkalite(workdir: Path, certs: Certs) -> Iterator[Running]:
    ports = {p: free_port() for p in PROTOCOLS}
    listeners = "PLAINTEXT://127.0.0.1:0," + ",".join(f"{p}://127.0.0.1:{port}" for p, port in ports.items())
    conf = {"listeners": listeners, **settings(certs)}
    proc = BrokerProcess(workdir / "data", extra_args=[a for k, v in conf.items() for a in ("--override", f"{k}={v}")])
    proc.start()
    try:
        yield Running("kafkalite", proc.bootstrap, {p: f"127.0.0.1:{port}" for p, port in ports.items()})
    finally:
        if proc.alive():
            proc.stop()


@contextmanager
def start_reference(certs: Certs) -> Iterator[Running]:
    from kafkalite.conformance.reference import ReferenceKafka

    kafka = ReferenceKafka(extra_listeners={p: p for p in PROTOCOLS}, overrides=settings(certs)).start()
    try:
        yield Running("kafka", kafka.bootstrap, {p: kafka.listener_bootstrap(p) for p in PROTOCOLS})
    finally:
        kafka.stop()
