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
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from compat_tests.secure import SASL_PROTOCOLS, CertAuthority, pem, secure_settings
from compat_tests.secure import start_kafkalite as _start_kafkalite

#: The principal every successful case authenticates as (a super user: the matrix is about
#: authentication; authorization has its own cases with ``NO_ACL_USER``).
USER, PASSWORD = "alice", "alice-secret"
#: A principal with no ACLs at all.
NO_ACL_USER, NO_ACL_PASSWORD = "bob", "bob-secret"
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
#: Records per round trip.
COUNT = 10

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
    ca, rogue_ca = CertAuthority("test CA"), CertAuthority("rogue CA")
    client_key, client = ca.issue(USER)
    rogue_key, rogue = rogue_ca.issue(USER)
    files = {
        "ca.pem": ca.pem, "server.pem": ca.server_pem(),
        "client.crt": pem(client, ca.cert), "client.key": pem(client_key),
        "client.pem": pem(client_key, client, ca.cert),
        "rogue.crt": pem(rogue, rogue_ca.cert), "rogue.key": pem(rogue_key),
        "rogue.pem": pem(rogue_key, rogue, rogue_ca.cert),
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
    users = {USER: PASSWORD, NO_ACL_USER: NO_ACL_PASSWORD}
    conf = secure_settings(dict.fromkeys(PROTOCOLS, 0), MECHANISMS, users, certs, ssl_client_auth="required")
    conf.update({
        # The client certificate's subject "CN=alice" is the principal User:alice.
        "ssl.principal.mapping.rules": "RULE:^CN=(.*)$/$1/,DEFAULT",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        # ANONYMOUS: the PLAINTEXT listener the test itself sets up topics and users on.
        "super.users": f"User:{USER};User:ANONYMOUS",
    })
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
    proc, ports = _start_kafkalite(workdir / "data", PROTOCOLS, settings(certs))
    try:
        yield Running("kafkalite", proc.bootstrap, {p: f"127.0.0.1:{ports[p]}" for p in PROTOCOLS})
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
