"""The SASL mechanisms of each SASL listener, from Kafka's settings; built once at start.

- ``listener.name.<l>.sasl.enabled.mechanisms``, else ``sasl.enabled.mechanisms`` (Kafka's default
  GSSAPI). kafkalite serves PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER; GSSAPI (Kerberos) is
  left out with a warning, and a listener left with no mechanism refuses to start.
- JAAS per mechanism: ``listener.name.<l>.<mechanism lowercase>.sasl.jaas.config``. Kafka ignores a
  bare ``sasl.jaas.config`` on a broker (with a warning); kafkalite falls back to it, with a warning,
  so a development config with one line works. PLAIN and OAUTHBEARER need one (Kafka refuses to
  start without a JAAS entry); SCRAM reads credentials from the SCRAM store, not JAAS.
- ``connections.max.reauth.ms`` per mechanism: ``listener.name.<l>.<mechanism>.connections.max.reauth.ms``,
  ``listener.name.<l>.connections.max.reauth.ms``, then the broker setting.
- SCRAM servers are ``ScramServer(mechanism, lookup)`` from kafkalite.security.scram, imported here
  at start: a broker without that module refuses SCRAM listeners instead of failing logins.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from kafkalite.security.jaas import JaasError, login_module_options
from kafkalite.security.oauthbearer import OAuthBearerServer
from kafkalite.security.plain import PlainServer, plain_users
from kafkalite.security.sasl import SCRAM_MECHANISMS, CredentialLookup, SaslServer
from kafkalite.security.sasl_state import SaslListenerConfig

log = logging.getLogger(__name__)

SERVED_MECHANISMS = ("PLAIN", *SCRAM_MECHANISMS, "OAUTHBEARER")


class MechanismConfigError(ValueError):
    """The SASL settings of a listener cannot be served (the message names the setting)."""


Lookup = Callable[[str], Any]  # a setting name -> its value for this listener (typed as the table says)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [str(item).strip() for item in value if str(item).strip()]


def listener_mechanisms(listener: str, setting: Lookup) -> list[str]:
    """The enabled mechanisms this listener serves, in the configured order."""
    configured = _as_list(setting("sasl.enabled.mechanisms"))
    if not configured:
        raise MechanismConfigError(f"No SASL mechanisms are enabled on listener {listener} (sasl.enabled.mechanisms)")
    served: list[str] = []
    for mechanism in configured:
        if mechanism == "GSSAPI":
            continue
        if mechanism not in SERVED_MECHANISMS:
            raise MechanismConfigError(
                f"SASL mechanism {mechanism} is not supported (listener {listener}): kafkalite serves "
                f"{', '.join(SERVED_MECHANISMS)}"
            )
        if mechanism not in served:
            served.append(mechanism)
    if "GSSAPI" in configured:
        if not served:
            raise MechanismConfigError(
                f"listener {listener} enables only GSSAPI (Kerberos), which kafkalite does not serve: set "
                f"sasl.enabled.mechanisms (or listener.name.{listener.lower()}.sasl.enabled.mechanisms) to "
                f"{', '.join(SERVED_MECHANISMS)} (Kafka's default is GSSAPI)"
            )
        log.warning("listener %s: GSSAPI (Kerberos) is not served; enabled: %s", listener, ", ".join(served))
    return served


def jaas_options(listener: str, mechanism: str, setting: Lookup, required: bool) -> dict[str, str]:
    """The options of the listener's login module for ``mechanism``."""
    key = f"{mechanism.lower()}.sasl.jaas.config"
    text = setting(key)
    where = f"listener.name.{listener.lower()}.{key}"
    if not text:
        text = setting("sasl.jaas.config")
        where = "sasl.jaas.config"
        if text:
            log.warning(
                "listener %s: %s from sasl.jaas.config (Kafka ignores it on a broker: use listener.name.%s.%s)",
                listener, mechanism, listener.lower(), key,
            )
    if not text:
        if required:
            raise MechanismConfigError(
                f"Could not find a JAAS configuration for SASL mechanism {mechanism} on listener {listener}: set "
                f"listener.name.{listener.lower()}.{key}"
            )
        return {}
    try:
        return dict(login_module_options(str(text)).options)
    except JaasError as exc:
        raise MechanismConfigError(f"Invalid value for configuration {where}: {exc}") from exc


def reauth_ms(mechanism: str, setting: Lookup) -> int:
    value = setting(f"{mechanism.lower()}.connections.max.reauth.ms")
    if value is None:
        value = setting("connections.max.reauth.ms")
    try:
        return int(value or 0)
    except (TypeError, ValueError) as exc:
        raise MechanismConfigError(f"Invalid value {value} for configuration connections.max.reauth.ms") from exc


def build_listener_config(
    listener: str,
    setting: Lookup,
    now_ms: Callable[[], int],
    scram_lookup: Callable[[], CredentialLookup] | None = None,
) -> SaslListenerConfig:
    """The mechanism table of one SASL listener; MechanismConfigError for what cannot be served.

    ``setting(name)`` answers ``listener.name.<l>.<name>`` first, then the broker setting;
    ``scram_lookup`` gives the SCRAM credential store's lookup (read when a SCRAM login starts).
    """
    factories: dict[str, Callable[[], SaslServer]] = {}
    reauth: dict[str, int] = {}
    for mechanism in listener_mechanisms(listener, setting):
        reauth[mechanism] = reauth_ms(mechanism, setting)
        if mechanism == "PLAIN":
            users = plain_users(jaas_options(listener, mechanism, setting, required=True))
            factories[mechanism] = _plain_factory(users)
        elif mechanism == "OAUTHBEARER":
            options = jaas_options(listener, mechanism, setting, required=True)
            validator = _jwks_validator(listener, setting)
            if validator is None:
                claim = setting("sasl.oauthbearer.sub.claim.name")
                if claim and "unsecuredValidatorPrincipalClaimName" not in options:
                    options["unsecuredValidatorPrincipalClaimName"] = str(claim)
            factories[mechanism] = _oauth_factory(options, now_ms, validator)
        else:
            jaas_options(listener, mechanism, setting, required=False)  # validated if given
            factories[mechanism] = _scram_factory(mechanism, scram_lookup)
    max_receive = setting("sasl.server.max.receive.size")
    delay = setting("connection.failed.authentication.delay.ms")
    return SaslListenerConfig(
        listener,
        factories,
        reauth,
        failure_delay_ms=int(delay if delay is not None else 100),
        max_receive_size=int(max_receive if max_receive is not None else 524288),
    )


def _plain_factory(users: dict[str, str]) -> Callable[[], SaslServer]:
    def create() -> SaslServer:
        return PlainServer(users)

    return create


def _oauth_factory(
    options: dict[str, str], now_ms: Callable[[], int], validator: Callable[[str, int], Any] | None
) -> Callable[[], SaslServer]:
    def create() -> SaslServer:
        return OAuthBearerServer(options, now_ms, validator)

    return create


def _jwks_validator(listener: str, setting: Lookup) -> Callable[[str, int], Any] | None:
    """Kafka's OAuthBearerValidatorCallbackHandler when the listener names it, else None (unsecured tokens)."""
    from kafkalite.security.oauth_jwks import VALIDATOR_HANDLER, JwksError, JwksValidator

    handler = setting("oauthbearer.sasl.server.callback.handler.class") or setting("sasl.server.callback.handler.class")
    url = setting("sasl.oauthbearer.jwks.endpoint.url")
    if not handler:
        if url:
            log.warning(
                "listener %s: sasl.oauthbearer.jwks.endpoint.url is set but, as in Kafka, tokens are checked by the "
                "unsecured validator unless listener.name.%s.oauthbearer.sasl.server.callback.handler.class=%s",
                listener, listener.lower(), VALIDATOR_HANDLER,
            )
        return None
    if str(handler).split(".")[-1] != VALIDATOR_HANDLER.split(".")[-1]:
        raise MechanismConfigError(
            f"sasl.server.callback.handler.class {handler} is not supported (listener {listener}): kafkalite knows "
            f"{VALIDATOR_HANDLER} and, without the setting, the unsecured validator"
        )
    if not url:
        raise MechanismConfigError(
            f"{VALIDATOR_HANDLER} needs sasl.oauthbearer.jwks.endpoint.url (listener {listener})"
        )
    audience = _as_list(setting("sasl.oauthbearer.expected.audience"))
    try:
        validator = JwksValidator(
            str(url),
            refresh_ms=int(setting("sasl.oauthbearer.jwks.endpoint.refresh.ms") or 3_600_000),
            clock_skew_s=int(setting("sasl.oauthbearer.clock.skew.seconds") or 30),
            audience=audience or None,
            issuer=setting("sasl.oauthbearer.expected.issuer") or None,
            sub_claim=str(setting("sasl.oauthbearer.sub.claim.name") or "sub"),
            scope_claim=str(setting("sasl.oauthbearer.scope.claim.name") or "scope"),
        )
    except JwksError as exc:
        raise MechanismConfigError(str(exc)) from exc
    return validator.validate


def _scram_factory(mechanism: str, scram_lookup: Callable[[], CredentialLookup] | None) -> Callable[[], SaslServer]:
    try:
        scram = importlib.import_module("kafkalite.security.scram")  # the scram branch's module
    except ImportError as exc:
        raise MechanismConfigError(
            f"SASL mechanism {mechanism} is not available in this build (kafkalite.security.scram is missing)"
        ) from exc
    if scram_lookup is None:
        raise MechanismConfigError(f"SASL mechanism {mechanism} needs the SCRAM credential store")
    server_class: Any = scram.ScramServer
    lookup_of = scram_lookup

    def create() -> SaslServer:
        server: SaslServer = server_class(mechanism, lookup_of())
        return server

    return create
