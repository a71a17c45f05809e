"""TLS for SSL listeners with Python's ssl module, as Kafka configures it.

Settings are Kafka's (``ssl.keystore.*``, ``ssl.truststore.*``, ``ssl.client.auth``,
``ssl.enabled.protocols``, ``ssl.cipher.suites``), each overridable per listener with
``listener.name.<name>.ssl.*``. The principal of a connection is ``User:`` + the client
certificate's subject DN (RFC 2253), mapped by ``ssl.principal.mapping.rules``; without a
client certificate it is ``User:ANONYMOUS``.

``write_self_signed`` makes a development CA and a localhost server certificate.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from kafkalite.config import BROKER_CONFIGS, LIST, BrokerConfig, ConfigError, typed_value

ANONYMOUS = "User:ANONYMOUS"

_PROTOCOLS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
_CLIENT_AUTH = {"none": ssl.CERT_NONE, "requested": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def listener_setting(
    config: BrokerConfig, listener: str, layers: list[dict[str, str]] | None = None
) -> Callable[[str], Any]:
    """A lookup of ``ssl.*`` settings for ``listener``: ``listener.name.<name>.<setting>`` wins.

    ``layers`` are the dynamic broker config layers to read (strongest first; default: those in
    force): a dynamic value wins over a static one, as in Kafka's DynamicBrokerConfig. Passing
    the proposed layers lets AlterConfigs validate a change before it is made.
    """
    dynamic = config.dynamic_layers if layers is None else layers
    static = [config.listener_settings, config.static_configs]

    def typed(name: str, value: str | None) -> Any:
        defn = BROKER_CONFIGS.get(name)
        if defn is None or value is None:
            return value
        if defn.type == LIST:
            return [item.strip() for item in value.split(",") if item.strip()]
        return typed_value(defn, value)

    def get(name: str) -> Any:
        for key in (f"listener.name.{listener.lower()}.{name}", f"listener.name.{listener}.{name}"):
            for layer in (*dynamic, config.listener_settings):
                if key in layer:
                    return typed(name, layer[key])
        for layer in (*dynamic, *static):
            if name in layer:
                return typed(name, layer[name])
        defn = BROKER_CONFIGS.get(name)
        return typed(name, defn.default) if defn is not None else None

    return get


def server_context(
    config: BrokerConfig, listener: str, layers: list[dict[str, str]] | None = None
) -> ssl.SSLContext:
    """The SSLContext of an SSL listener; ConfigError naming the setting that is wrong or missing.

    ``layers``: the dynamic config layers to build it from (default: those in force).
    """
    get = listener_setting(config, listener, layers)
    prefix = f"listener.name.{listener.lower()}."
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _load_keystore(ctx, get, prefix)
    auth = str(get("ssl.client.auth") or "none").lower()
    if auth not in _CLIENT_AUTH:
        raise ConfigError(f"Invalid value {auth} for configuration ssl.client.auth: required, requested or none")
    ctx.verify_mode = _CLIENT_AUTH[auth]
    _load_truststore(ctx, get, auth != "none")
    versions = [v for v in (get("ssl.enabled.protocols") or []) if v]
    unknown = [v for v in versions if v not in _PROTOCOLS]
    if unknown or not versions:
        raise ConfigError(f"Invalid value {','.join(versions)} for configuration ssl.enabled.protocols")
    chosen = sorted(_PROTOCOLS[v] for v in versions)
    ctx.minimum_version, ctx.maximum_version = chosen[0], chosen[-1]
    ciphers = [c for c in (get("ssl.cipher.suites") or []) if c]
    if ciphers:
        try:
            ctx.set_ciphers(":".join(ciphers))
        except ssl.SSLError as exc:
            raise ConfigError(f"Invalid value {','.join(ciphers)} for configuration ssl.cipher.suites: {exc}") from exc
    PrincipalMapper(str(get("ssl.principal.mapping.rules") or "DEFAULT"))  # refuses bad rules at start
    return ctx


class KeystoreError(ConfigError):
    """The keystore could not be loaded (a missing file, a bad PEM, a wrong password)."""

    def __init__(self, message: str, kind: str, location: str | None) -> None:
        super().__init__(message)
        self.kind = kind
        self.location = location


class ReloadableContext(ssl.SSLContext):
    """The SSLContext an SSL listener serves with: new connections use the context in force.

    asyncio binds a listener to one SSLContext object and creates every connection's TLS state
    with its ``wrap_bio``; delegating that call to ``current`` lets a dynamic config change
    (a new keystore through AlterConfigs, as Kafka's SslFactory reconfigures) apply to the
    next connection while the established ones keep the certificate they were made with.
    """

    current: ssl.SSLContext

    def __new__(cls, current: ssl.SSLContext) -> ReloadableContext:
        self = super().__new__(cls, ssl.PROTOCOL_TLS_SERVER)
        self.current = current
        return self

    def __init__(self, current: ssl.SSLContext) -> None:
        self.current = current

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:  # type: ignore[override]
        outgoing = kwargs["outgoing"] if "outgoing" in kwargs else args[1]
        return cast(ssl.SSLObject, AlertFirst(self.current.wrap_bio(*args, **kwargs), outgoing))


#: OpenSSL's reasons for refusing a client's certificate (or its absence under ssl.client.auth=required).
CLIENT_CERTIFICATE_REFUSED = frozenset({"CERTIFICATE_VERIFY_FAILED", "PEER_DID_NOT_RETURN_A_CERTIFICATE"})


class AlertFirst:
    """A server-side SSLObject whose failed handshake sends its TLS alert before failing.

    When OpenSSL refuses a client certificate (from an untrusted CA, or none under
    ``ssl.client.auth=required``), the alert saying why is already in the outgoing buffer, but asyncio's and
    uvloop's TLS transports close the connection on the error without sending it, so the client
    only sees a reset. Kafka's (Java's) TLS sends the alert, and clients report it ("certificate
    unknown", "bad certificate"). So the first failure is held back: the handshake says it wants
    more data, which makes the transport send what is pending (the alert), and the failure is raised
    on the next call, when the client hangs up or the handshake timeout ends it.
    Everything else is the wrapped object's; the data path's methods are bound directly.
    """

    def __init__(self, obj: ssl.SSLObject, outgoing: ssl.MemoryBIO) -> None:
        self._obj = obj
        self._outgoing = outgoing
        self._failure: ssl.SSLError | None = None
        self.read = obj.read
        self.write = obj.write
        self.pending = obj.pending
        self.unwrap = obj.unwrap
        self.getpeercert = obj.getpeercert

    def do_handshake(self) -> None:
        if self._failure is not None:
            raise self._failure
        try:
            self._obj.do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise
        except ssl.SSLError as exc:
            # Only a refused client certificate: garbage or a plaintext request still closes at once.
            if exc.reason not in CLIENT_CERTIFICATE_REFUSED or not self._outgoing.pending:
                raise
            self._failure = exc
            raise ssl.SSLWantReadError("the TLS alert goes out first") from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)


def kafka_reload_message(exc: ConfigError) -> str:
    """Kafka's INVALID_REQUEST text for a listener SSL update it refuses (SslFactory validation)."""
    if isinstance(exc, KeystoreError):
        detail = f"Failed to load {exc.kind} SSL keystore {exc.location or ''}".rstrip()
    else:
        detail = str(exc)
    return (
        "Invalid value org.apache.kafka.common.config.ConfigException: Validation of dynamic config update of "
        f"SSLFactory failed: org.apache.kafka.common.errors.InvalidConfigurationException: {detail} for "
        "configuration Invalid dynamic configuration"
    )


def listener_reloader(
    config: BrokerConfig, listener: str, context: ReloadableContext
) -> Callable[[list[dict[str, str]]], Callable[[], None]]:
    """Validate a listener's SSL settings under proposed dynamic layers; the result applies them.

    Raises ConfigError (with Kafka's message, ``kafka_reload_message``) when the new settings
    cannot make a context: the keystore is read and checked before anything changes.
    """

    def prepare(layers: list[dict[str, str]]) -> Callable[[], None]:
        try:
            fresh = server_context(config, listener, layers)
        except ConfigError as exc:
            raise ConfigError(kafka_reload_message(exc)) from exc

        def apply() -> None:
            context.current = fresh

        return apply

    return prepare


def _load_keystore(ctx: ssl.SSLContext, get: Callable[[str], Any], prefix: str) -> None:
    kind = str(get("ssl.keystore.type") or "PEM").upper()
    location = get("ssl.keystore.location")
    password = get("ssl.key.password")
    try:
        if kind == "PEM":
            chain, key = get("ssl.keystore.certificate.chain"), get("ssl.keystore.key")
            if location:
                ctx.load_cert_chain(location, password=password)
            elif chain and key:
                _load_pem_strings(ctx, chain, key, password)
            else:
                raise ConfigError(
                    f"an SSL listener needs ssl.keystore.location or ssl.keystore.certificate.chain and "
                    f"ssl.keystore.key (or {prefix}ssl.keystore.*)"
                )
        elif kind == "PKCS12":
            if not location:
                raise ConfigError("ssl.keystore.type=PKCS12 needs ssl.keystore.location")
            _load_pkcs12(ctx, Path(location), get("ssl.keystore.password"))
        else:
            raise ConfigError(f"ssl.keystore.type={kind} is not supported: use PEM or PKCS12")
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise KeystoreError(f"cannot load the keystore (ssl.keystore.*): {exc}", kind, location) from exc


def _load_pem_strings(ctx: ssl.SSLContext, chain: str, key: str, password: str | None) -> None:
    """load_cert_chain reads files only: hand it a private temporary file, removed at once."""
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key.strip() + "\n" + chain.strip() + "\n")
        ctx.load_cert_chain(path, password=password)
    finally:
        os.unlink(path)


def _load_pkcs12(ctx: ssl.SSLContext, location: Path, password: str | None) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, cert, extra = pkcs12.load_key_and_certificates(
        location.read_bytes(), password.encode() if password else None
    )
    if key is None or cert is None:
        raise ConfigError(f"the PKCS12 keystore {location} holds no private key and certificate")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    chain = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in [cert, *(extra or [])])
    _load_pem_strings(ctx, chain, key_pem, None)


def _load_truststore(ctx: ssl.SSLContext, get: Callable[[str], Any], needed: bool) -> None:
    kind = str(get("ssl.truststore.type") or "PEM").upper()
    location, inline = get("ssl.truststore.location"), get("ssl.truststore.certificates")
    if not (location or inline):
        if needed:  # as Kafka falls back to the JVM's default truststore
            ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        return
    if kind != "PEM":
        raise ConfigError(f"ssl.truststore.type={kind} is not supported: use PEM")
    try:
        if location:
            ctx.load_verify_locations(cafile=location)
        if inline:
            ctx.load_verify_locations(cadata=inline)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"cannot load the truststore (ssl.truststore.*): {exc}") from exc


# ---- principals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str] | None  # None: DEFAULT
    replacement: str = ""
    case: str = ""


class PrincipalMapper:
    """Kafka's ``ssl.principal.mapping.rules``: ``DEFAULT`` or ``RULE:pattern/replacement/[LU]``, first match wins."""

    _RULE = re.compile(r"\s*(?:(DEFAULT)|RULE:((?:\\/|[^/])*)/((?:\\/|[^/])*)/([LU]?))\s*(?:,|$)")

    def __init__(self, rules: str) -> None:
        self.rules: list[_Rule] = []
        pos, text = 0, rules.strip()
        while pos < len(text):
            m = self._RULE.match(text, pos)
            if m is None or m.end() == pos:
                raise ConfigError(f"Invalid value {rules} for configuration ssl.principal.mapping.rules")
            if m.group(1):
                self.rules.append(_Rule(None))
            else:
                try:
                    pattern = re.compile(m.group(2).replace("\\/", "/"))
                except re.error as exc:
                    raise ConfigError(f"Invalid rule {m.group(2)} in ssl.principal.mapping.rules: {exc}") from exc
                replacement = re.sub(r"\$(\d)", r"\\\1", m.group(3).replace("\\/", "/"))
                self.rules.append(_Rule(pattern, replacement, m.group(4)))
            pos = m.end()
        if not self.rules:
            self.rules.append(_Rule(None))

    def name(self, dn: str) -> str:
        for rule in self.rules:
            if rule.pattern is None:
                return dn
            if rule.pattern.fullmatch(dn):
                result = rule.pattern.sub(rule.replacement, dn)
                return result.lower() if rule.case == "L" else result.upper() if rule.case == "U" else result
        raise ValueError(f"no ssl.principal.mapping.rules rule matches {dn}")


def principal_of(ssl_object: Any, mapper: PrincipalMapper) -> str:
    """``User:<name>`` of a TLS connection's verified client certificate, or ``User:ANONYMOUS``."""
    if ssl_object is None:
        return ANONYMOUS
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return ANONYMOUS
    from cryptography import x509

    dn = x509.load_der_x509_certificate(der).subject.rfc4514_string()
    return "User:" + mapper.name(dn)


# ---- development certificates ---------------------------------------------------------------


@dataclass(frozen=True)
class SelfSigned:
    ca: Path
    keystore: Path  # server key + certificate chain, PEM


def write_self_signed(directory: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")) -> SelfSigned:
    """A CA and a server certificate for ``hosts`` in ``directory``, reused if already there."""
    directory = Path(directory)
    ca_path, keystore_path = directory / "ca.pem", directory / "server.pem"
    if ca_path.exists() and keystore_path.exists():
        return SelfSigned(ca_path, keystore_path)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kafkalite development CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    ca_pem = ca_cert.public_bytes(pem)
    fd = os.open(keystore_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem + cert.public_bytes(pem) + ca_pem)
    ca_path.write_bytes(ca_pem)
    return SelfSigned(ca_path, keystore_path)
