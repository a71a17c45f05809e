"""Config resources as DescribeConfigs, AlterConfigs and IncrementalAlterConfigs see them.

Owns the dynamic broker configs (per broker and cluster default, KIP-226), persisted in
``broker-configs.json`` through the catalog, and the rules for describing and altering topic
and broker resources: value resolution by source (topic override, dynamic broker, dynamic
default, static, built-in default), synonyms, sensitive values hidden, validation with Kafka's
error codes. Applying a change live (log configs of open partitions) is delegated to Cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kafkalite.broker.cluster import Cluster, Topic, topic_name_problem
from kafkalite.config import (
    BROKER_CONFIGS,
    LIST,
    TOPIC_CONFIGS,
    BrokerConfig,
    ConfigError,
    topic_default,
    validate_topic_configs,
)
from kafkalite.errors import ErrorCode
from kafkalite.storage.catalog import Catalog

log = logging.getLogger(__name__)

TOPIC, BROKER, BROKER_LOGGER = 2, 4, 8
SOURCE_TOPIC, SOURCE_DYNAMIC_BROKER, SOURCE_DYNAMIC_DEFAULT, SOURCE_STATIC, SOURCE_DEFAULT = 1, 2, 3, 4, 5
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
MIN_ISR = "min.insync.replicas"

# Broker configs that share one setting, in Kafka's precedence order.
_BROKER_SYNONYM_GROUPS = (
    ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
    ("log.roll.ms", "log.roll.hours"),
    ("log.roll.jitter.ms", "log.roll.jitter.hours"),
    ("log.flush.interval.ms", "log.flush.scheduler.interval.ms"),
)


# Kafka's DynamicBrokerConfig name classes (core/.../DynamicBrokerConfig.scala).
#: SSL stores: per listener only (``listener.name.<l>.ssl.keystore.location``), never unprefixed.
SSL_RECONFIGURABLE = frozenset({
    "ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
    "ssl.truststore.type", "ssl.truststore.location", "ssl.truststore.password",
    "ssl.keystore.certificate.chain", "ssl.keystore.key", "ssl.truststore.certificates",
})
#: DynamicListenerConfig's configs; with the SSL stores, per broker except the cluster-level three.
_LISTENER_RECONFIGURABLE = frozenset({
    "advertised.listeners", "listeners", "listener.security.protocol.map", "principal.builder.class",
    "ssl.protocol", "ssl.provider", "ssl.cipher.suites", "ssl.enabled.protocols", "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm", "ssl.endpoint.identification.algorithm", "ssl.secure.random.implementation",
    "ssl.client.auth", "ssl.engine.factory.class", "sasl.mechanism.inter.broker.protocol", "sasl.jaas.config",
    "sasl.enabled.mechanisms", "sasl.kerberos.service.name", "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.ticket.renew.window.factor", "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.min.time.before.relogin", "sasl.kerberos.principal.to.local.rules",
    "sasl.login.refresh.window.factor", "sasl.login.refresh.window.jitter", "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.buffer.seconds", "max.connections", "max.connection.creation.rate", "num.network.threads",
})
_CLUSTER_LEVEL_LISTENER = frozenset({"max.connections", "max.connection.creation.rate", "num.network.threads"})
PER_BROKER_ONLY = (SSL_RECONFIGURABLE | _LISTENER_RECONFIGURABLE) - _CLUSTER_LEVEL_LISTENER
LISTENER_PREFIX = "listener.name."
#: Configs whose values Kafka never returns: password configs, also under a listener prefix.
_PASSWORD_SUFFIXES = (*(name for name, d in BROKER_CONFIGS.items() if d.sensitive), "sasl.jaas.config")
#: Validates and prepares a listener's new settings under proposed dynamic layers (strongest
#: first); returns the step that applies them; raises ConfigError with Kafka's message.
ListenerReloader = Callable[[list[dict[str, str]]], Callable[[], None]]


def listener_base(name: str) -> str | None:
    """``ssl.keystore.location`` of ``listener.name.ssl.ssl.keystore.location``; None if not prefixed."""
    if not name.startswith(LISTENER_PREFIX):
        return None
    rest = name[len(LISTENER_PREFIX):]
    listener, dot, base = rest.partition(".")
    return base if dot and listener else None


def per_broker_only(name: str) -> bool:
    """Whether Kafka refuses ``name`` on the cluster default resource (a broker id is needed)."""
    base = listener_base(name)
    return name in PER_BROKER_ONLY if base is None else base not in _CLUSTER_LEVEL_LISTENER


def _kafka_set(names: set[str] | list[str]) -> str:
    """Names as Kafka prints a Java set in its config error messages."""
    return "[" + ", ".join(sorted(names)) + "]"


def is_password(name: str) -> bool:
    """Kafka's isPasswordConfig: the name ends with a password config's name."""
    return any(name.endswith(suffix) for suffix in _PASSWORD_SUFFIXES)


class ResourceError(Exception):
    def __init__(self, code: ErrorCode, message: str | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _broker_synonyms(name: str) -> tuple[str, ...]:
    for group in _BROKER_SYNONYM_GROUPS:
        if name in group:
            return group
    return (name,)


class ConfigResources:
    """Describe and alter config resources of this broker; one instance per broker."""

    def __init__(self, config: BrokerConfig, catalog: Catalog, cluster: Cluster) -> None:
        self.config = config
        self.catalog = catalog
        self.cluster = cluster
        self.per_broker: dict[str, str] = {}
        self.cluster_default: dict[str, str] = {}
        #: Listener name (lower case) -> its reloader (server/tls.py), for listeners reconfigurable live.
        self.listener_reloaders: dict[str, ListenerReloader] = {}

    def open(self) -> None:
        if not self.catalog.has_broker_configs():
            # As Kafka 4 formats a cluster with eligible leader replicas enabled: the cluster-level
            # min.insync.replicas is written as a dynamic default, from the static config.
            static = self.config.static_configs.get(MIN_ISR) or BROKER_CONFIGS[MIN_ISR].default or "1"
            self.catalog.save_broker_configs({}, {MIN_ISR: static})
        self.per_broker, self.cluster_default = self.catalog.load_broker_configs()
        self._apply()

    def _apply(self) -> None:
        # Also refreshes the config's fields of dynamic broker configs (log.cleaner.backoff.ms, ...).
        self.config.refresh_topic_defaults([self.per_broker, self.cluster_default])
        self.cluster.refresh_log_configs()

    # ---- resources ----------------------------------------------------------------------------

    def _static(self) -> dict[str, str]:
        """Static settings as Kafka reports them, including those derived from flags."""
        cfg = self.config
        static = dict(cfg.static_configs)
        static["listeners"] = f"PLAINTEXT://{cfg.host}:{cfg.port}"
        static.pop("host", None)
        static.pop("port", None)
        if cfg.advertised_host or cfg.advertised_port:
            host, port = cfg.advertised
            static["advertised.listeners"] = f"PLAINTEXT://{host}:{port}"
        static.pop("advertised.host.name", None)
        static.pop("advertised.port", None)
        static["log.dirs"] = ",".join(map(str, cfg.log_dirs)) if cfg.log_dirs else str(cfg.data_dir)
        static["node.id"] = str(cfg.node_id)
        return static

    def _layers(self) -> list[tuple[dict[str, str], int]]:
        return [
            (self.per_broker, SOURCE_DYNAMIC_BROKER),
            (self.cluster_default, SOURCE_DYNAMIC_DEFAULT),
            (self._static(), SOURCE_STATIC),
        ]

    def _broker_resource(self, name: str, altering: bool = False) -> bool:
        """True for this broker's resource, False for the cluster default; ResourceError otherwise.

        Kafka words the error differently for a describe ("or empty string") and an alter.
        """
        if name == "":
            return False
        if name.strip().lstrip("-").isdigit() and int(name) == self.config.node_id:
            return True
        expected = f"{self.config.node_id}" if altering else f"{self.config.node_id} or empty string"
        raise ResourceError(
            ErrorCode.INVALID_REQUEST, f"Unexpected broker id, expected {expected}, but received {name}"
        )

    def _topic(self, name: str) -> Topic:
        problem = topic_name_problem(name)
        if problem:
            raise ResourceError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem)
        topic = self.cluster.topics.get(name)
        if topic is None:
            raise ResourceError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
        return topic

    def default_sources(self) -> dict[str, int]:
        """The config source of every topic config's broker-level default."""
        layers = self._layers()
        out: dict[str, int] = {}
        for name in TOPIC_CONFIGS:
            _, _, level = topic_default(name, [layer for layer, _ in layers])
            out[name] = layers[level][1] if level < len(layers) else SOURCE_DEFAULT
        return out

    # ---- DescribeConfigs --------------------------------------------------------------------------

    def describe(
        self, resource_type: int, name: str, keys: list[str] | None, synonyms: bool, documentation: bool
    ) -> list[dict[str, Any]]:
        if resource_type == TOPIC:
            return self._describe_topic(self._topic(name), keys, synonyms, documentation)
        if resource_type == BROKER:
            per_broker = self._broker_resource(name)
            return self._describe_broker(per_broker, keys, synonyms, documentation)
        raise ResourceError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type: {resource_type}")

    def _entry(
        self,
        name: str,
        value: str | None,
        source: int,
        read_only: bool,
        ctype: int,
        sensitive: bool,
        synonyms: list[dict[str, Any]],
        doc: str | None,
    ) -> dict[str, Any]:
        return {
            "name": name,
            "value": None if sensitive else value,
            "read_only": read_only,
            "config_source": source,
            "is_default": source == SOURCE_DEFAULT,
            "is_sensitive": sensitive,
            "synonyms": synonyms,
            "config_type": ctype,
            "documentation": doc,
        }

    def _describe_topic(
        self, topic: Topic, keys: list[str] | None, with_synonyms: bool, documentation: bool
    ) -> list[dict[str, Any]]:
        layers = self._layers()
        out = []
        for name, (defn, syns) in sorted(TOPIC_CONFIGS.items()):
            if defn.internal or (keys is not None and name not in keys):
                continue
            chain: list[dict[str, Any]] = []
            if name in topic.configs:
                chain.append({"name": name, "value": topic.configs[name], "source": SOURCE_TOPIC})
            chain += self._synonym_chain([syn.name for syn in syns], layers, with_defaults=True)
            value: str | None
            if name in topic.configs:
                value, source = topic.configs[name], SOURCE_TOPIC
            else:
                value, _, level = topic_default(name, [layer for layer, _ in layers])
                source = layers[level][1] if level < len(layers) else SOURCE_DEFAULT
            if defn.sensitive:
                for syn in chain:
                    syn["value"] = None
            out.append(
                self._entry(
                    name,
                    value,
                    source,
                    False,
                    defn.type,
                    defn.sensitive,
                    chain if with_synonyms else [],
                    defn.doc if documentation else None,
                )
            )
        return out

    def _synonym_chain(
        self,
        names: list[str],
        layers: list[tuple[dict[str, str], int]],
        with_defaults: bool,
        primary: str | None = None,
    ) -> list[dict[str, Any]]:
        """Kafka's synonym list: layer by layer (strongest first), each synonym in precedence order.

        Built-in defaults come last (not for the cluster-default resource). As Kafka does, entries
        before the first one naming ``primary`` (the described broker config, or a topic config's
        first broker synonym) are dropped, so a config whose primary setting is unset and has no
        default (log.retention.ms) lists no synonyms at all.
        """
        chain: list[dict[str, Any]] = []
        for layer, source in layers:
            chain += [{"name": n, "value": layer[n], "source": source} for n in names if n in layer]
        if with_defaults:
            for n in names:
                bdef = BROKER_CONFIGS.get(n)
                if bdef is not None and bdef.default is not None:
                    chain.append({"name": n, "value": bdef.default, "source": SOURCE_DEFAULT})
        primary = primary or (names[0] if names else None)
        while chain and chain[0]["name"] != primary:
            chain.pop(0)
        return chain

    def _describe_broker(
        self, per_broker: bool, keys: list[str] | None, with_synonyms: bool, documentation: bool
    ) -> list[dict[str, Any]]:
        layers = self._layers() if per_broker else [(self.cluster_default, SOURCE_DYNAMIC_DEFAULT)]
        out = []
        for name, defn in sorted(BROKER_CONFIGS.items()):
            if keys is not None and name not in keys:
                continue
            if not per_broker and name not in self.cluster_default:
                continue  # the default resource lists what is set there only, as Kafka does
            value: str | None = None
            source = SOURCE_DEFAULT
            for layer, layer_source in layers:
                if name in layer:
                    value, source = layer[name], layer_source
                    break
            else:
                value = defn.default
            chain = self._synonym_chain(list(_broker_synonyms(name)), layers, with_defaults=per_broker, primary=name)
            if defn.sensitive:
                for syn_entry in chain:
                    syn_entry["value"] = None
            out.append(
                self._entry(
                    name,
                    value,
                    source,
                    not defn.dynamic,
                    defn.type,
                    defn.sensitive,
                    chain if with_synonyms else [],
                    defn.doc if documentation else None,
                )
            )
        out += self._describe_open_names(layers, keys, with_synonyms)
        return out

    def _describe_open_names(
        self, layers: list[tuple[dict[str, str], int]], keys: list[str] | None, with_synonyms: bool
    ) -> list[dict[str, Any]]:
        """Set configs outside the table: ``listener.name.<l>.*`` settings and names Kafka does not know.

        As Kafka lists them: read-only; a listener setting typed as its base config, with the base
        config's default as its last synonym, its value hidden if it is a password; an unknown
        name typed UNKNOWN and hidden (it could be a secret).
        """
        if layers and layers[-1][1] == SOURCE_STATIC:
            layers = [*layers, (self.config.listener_settings, SOURCE_STATIC)]
        names = sorted({n for layer, _ in layers for n in layer if n not in BROKER_CONFIGS})
        out = []
        for name in names:
            if keys is not None and name not in keys:
                continue
            base = listener_base(name)
            bdef = BROKER_CONFIGS.get(base) if base is not None else None
            hidden = is_password(name) or base is None or (bdef is not None and bdef.sensitive)
            chain: list[dict[str, Any]] = [
                {"name": name, "value": layer[name], "source": src} for layer, src in layers if name in layer
            ]
            value, source = next((layer[name], src) for layer, src in layers if name in layer)
            if bdef is not None and bdef.default is not None and any(src == SOURCE_STATIC for _, src in layers):
                chain.append({"name": base, "value": bdef.default, "source": SOURCE_DEFAULT})
            if hidden:
                for entry in chain:
                    entry["value"] = None
            ctype = bdef.type if bdef is not None else 0
            out.append(self._entry(name, value, source, True, ctype, hidden, chain if with_synonyms else [], None))
        return out

    # ---- AlterConfigs and IncrementalAlterConfigs ---------------------------------------------

    def current(self, resource_type: int, name: str) -> dict[str, str]:
        """The configs set on a resource (topic overrides, or one dynamic broker layer)."""
        if resource_type == TOPIC:
            return dict(self._topic(name).configs)
        if resource_type == BROKER:
            return dict(self.per_broker if self._broker_resource(name, altering=True) else self.cluster_default)
        raise ResourceError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type: {resource_type}")

    def incremental(self, resource_type: int, name: str, ops: list[tuple[str, int, str | None]]) -> dict[str, str]:
        """The resource's new configs after SET/DELETE/APPEND/SUBTRACT operations (not applied)."""
        configs = self.current(resource_type, name)
        seen: set[str] = set()
        for key, op, value in ops:
            if key in seen:
                raise ResourceError(ErrorCode.INVALID_REQUEST, f"Error due to duplicate config keys : {key}")
            seen.add(key)
            if op == SET:
                if value is None:
                    raise ResourceError(ErrorCode.INVALID_REQUEST, f"Null value not supported for : {key}")
                configs[key] = value
            elif op == DELETE:
                configs.pop(key, None)
            elif op in (APPEND, SUBTRACT):
                ctype = self._type_of(resource_type, key)
                if ctype != LIST:
                    verb = "append" if op == APPEND else "subtract"
                    raise ResourceError(
                        ErrorCode.INVALID_CONFIG, f"Config value {verb} is not allowed for config key: {key}"
                    )
                base = configs.get(key)
                if base is None:
                    base = self._effective(resource_type, key) or ""
                items = [item for item in base.split(",") if item]
                given = [item.strip() for item in (value or "").split(",") if item.strip()]
                if op == APPEND:
                    items += [item for item in given if item not in items]
                else:
                    items = [item for item in items if item not in given]
                configs[key] = ",".join(items)
            else:  # Kafka fails an unknown operation code as an unexpected error, without a message
                raise ResourceError(ErrorCode.UNKNOWN_SERVER_ERROR, None)
        return configs

    def _type_of(self, resource_type: int, key: str) -> int | None:
        if resource_type == TOPIC:
            entry = TOPIC_CONFIGS.get(key)
            return entry[0].type if entry else None
        bdef = BROKER_CONFIGS.get(key)
        return bdef.type if bdef else None

    def _effective(self, resource_type: int, key: str) -> str | None:
        if resource_type == TOPIC:
            return self.config.topic_defaults.get(key)
        bdef = BROKER_CONFIGS.get(key)
        return bdef.default if bdef else None

    def replace(self, resource_type: int, name: str, configs: dict[str, str | None], validate_only: bool) -> None:
        """Make ``configs`` the resource's whole set of configs (after validating all of them)."""
        if resource_type == TOPIC:
            self._topic(name)
            try:
                topic_configs = validate_topic_configs(configs)
            except ConfigError as exc:
                raise ResourceError(ErrorCode.INVALID_CONFIG, str(exc)) from None
            if not validate_only:
                try:
                    self.cluster.set_topic_configs(name, topic_configs)
                except OSError as exc:
                    raise ResourceError(ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot save the configs: {exc}") from None
            return
        if resource_type != BROKER:
            raise ResourceError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type: {resource_type}")
        per_broker = self._broker_resource(name, altering=True)
        validated = self._validate_broker(configs, per_broker)
        if not per_broker and MIN_ISR in self.cluster_default and MIN_ISR not in validated:
            raise ResourceError(
                ErrorCode.INVALID_CONFIG, "Cluster-level min.insync.replicas cannot be removed while ELR is enabled."
            )
        per_broker_configs, cluster_default = (
            (validated, self.cluster_default) if per_broker else (self.per_broker, validated)
        )
        reloads = self._prepare_listener_reloads(per_broker_configs, cluster_default)
        if validate_only:
            return
        try:  # saved first: on a full disk nothing changes
            self.catalog.save_broker_configs(per_broker_configs, cluster_default)
        except OSError as exc:
            raise ResourceError(ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot save the configs: {exc}") from None
        self.per_broker, self.cluster_default = per_broker_configs, cluster_default
        self._apply()
        for apply in reloads:
            apply()

    def _validate_broker(self, configs: dict[str, str | None], per_broker: bool) -> dict[str, str]:
        """A broker resource's new configs, checked in Kafka's order (DynamicBrokerConfig.validateConfigs).

        Read-only configs, then SSL stores without a listener prefix, then value types (a
        ``listener.name.<l>.<config>`` value as ``<config>``), then per-broker configs on the
        cluster default. Names Kafka does not know are kept, as Kafka keeps them.
        """
        fixed = sorted(k for k in configs if k in BROKER_CONFIGS and not BROKER_CONFIGS[k].dynamic)
        if fixed:
            message = f"Cannot update these configs dynamically: {_kafka_set(fixed)}"
            raise ResourceError(ErrorCode.INVALID_REQUEST, message)
        unprefixed = sorted(k for k in configs if k in SSL_RECONFIGURABLE)
        if unprefixed:
            raise ResourceError(
                ErrorCode.INVALID_REQUEST,
                "These security configs can be dynamically updated only per-listener using the listener prefix: "
                + _kafka_set(unprefixed),
            )
        validated: dict[str, str] = {}
        for key, raw in configs.items():
            base = listener_base(key)
            defn = BROKER_CONFIGS.get(key if base is None else base)
            try:
                value = defn.validate(raw) if defn is not None else (raw.strip() if raw is not None else None)
            except ConfigError as exc:
                raise ResourceError(ErrorCode.INVALID_REQUEST, str(exc)) from None
            if value is not None:
                validated[key] = value
        if not per_broker:
            only = sorted(k for k in configs if per_broker_only(k))
            if only:
                message = "Cannot update these configs at default cluster level, broker id must be specified: "
                raise ResourceError(ErrorCode.INVALID_REQUEST, message + _kafka_set(only))
        return validated

    def _prepare_listener_reloads(
        self, per_broker: dict[str, str], cluster_default: dict[str, str]
    ) -> list[Callable[[], None]]:
        """Validate the new settings of each live listener they touch (a keystore is read now).

        As Kafka's SslFactory validates a dynamic update before it is made: an invalid keystore is
        refused with INVALID_REQUEST and Kafka's message, and nothing changes.
        """
        changed = {
            k.lower()
            for old, new in ((self.per_broker, per_broker), (self.cluster_default, cluster_default))
            for k in set(old) | set(new)
            if old.get(k) != new.get(k)
        }
        reloads = []
        for listener, reloader in self.listener_reloaders.items():
            prefix = f"{LISTENER_PREFIX}{listener.lower()}."
            if any(k.startswith(prefix) or k.startswith("ssl.") for k in changed):
                try:
                    reloads.append(reloader([per_broker, cluster_default]))
                except ConfigError as exc:
                    raise ResourceError(ErrorCode.INVALID_REQUEST, str(exc)) from None
        return reloads

    def watch_listener(self, listener: str, reloader: ListenerReloader) -> None:
        """Reconfigure ``listener`` live when its dynamic settings change; apply those saved now.

        A saved setting that no longer loads (a keystore file gone) is logged and the listener
        keeps its static settings, as Kafka ignores an invalid persisted dynamic config.
        """
        self.listener_reloaders[listener.lower()] = reloader
        prefix = f"{LISTENER_PREFIX}{listener.lower()}."
        layers = [self.per_broker, self.cluster_default]
        if any(k.lower().startswith(prefix) or k.startswith("ssl.") for layer in layers for k in layer):
            try:
                reloader(layers)()
            except ConfigError as exc:
                log.error("dynamic SSL settings of listener %s ignored: %s", listener, exc)
