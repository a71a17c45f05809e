"""Broker configuration: Kafka's own names, types, defaults and validators.

Owns the config definitions (topic configs and broker configs, with the broker synonyms that
supply a topic config's default), parsing a ``server.properties`` file, and ``BrokerConfig``,
the settings one broker runs with. Defaults follow Apache Kafka so tests written against Kafka
meet the same limits, with the development-friendly exceptions the design guide names (initial
rebalance delay 0, minimum session timeout 1 s). Knows nothing about requests or storage.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FSYNC_POLICIES = ("never", "interval", "always")
#: Where data lives unless log.dirs says otherwise: a directory of its own beside the caller, not
#: log.dir's Kafka default (/tmp/kafka-logs, which the table keeps for DescribeConfigs).
DEFAULT_DATA_DIR = "kafkalite-data"

# DescribeConfigs ConfigType values.
BOOLEAN, STRING, INT, SHORT, LONG, DOUBLE, LIST, CLASS, PASSWORD = 1, 2, 3, 4, 5, 6, 7, 8, 9
_TYPE_NAMES = {
    BOOLEAN: "BOOLEAN",
    STRING: "STRING",
    INT: "INT",
    SHORT: "SHORT",
    LONG: "LONG",
    DOUBLE: "DOUBLE",
    LIST: "LIST",
    CLASS: "CLASS",
    PASSWORD: "PASSWORD",
}
LONG_MAX = str(2**63 - 1)
COMPRESSION_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")


class ConfigError(ValueError):
    """A config name or value Kafka would refuse; the message is Kafka's wording."""


Check = Callable[[str, str], None]  # (name, normalised value) -> raises ConfigError


def at_least(bound: float) -> Check:
    def check(name: str, value: str) -> None:
        if float(value) < bound:
            raise ConfigError(f"Invalid value {value} for configuration {name}: Value must be at least {_num(bound)}")

    return check


def between(low: float, high: float) -> Check:
    def check(name: str, value: str) -> None:
        if not low <= float(value) <= high:
            raise ConfigError(
                f"Invalid value {value} for configuration {name}: Value must be no more than {_num(high)}"
                if float(value) > high
                else f"Invalid value {value} for configuration {name}: Value must be at least {_num(low)}"
            )

    return check


def _add_scram_entries(name: str, value: str) -> None:
    """``kafkalite.add.scram``: each entry must parse as kafka-storage's --add-scram does."""
    from kafkalite.broker.scram_store import parse_add_scram, split_add_scram_setting

    for entry in split_add_scram_setting(value):
        try:
            parse_add_scram(entry)
        except ValueError as exc:
            raise ConfigError(f"Invalid value for configuration {name}: {exc}") from None


def one_of(*allowed: str) -> Check:
    def check(name: str, value: str) -> None:
        items = value.split(",") if value else [value]
        for item in items:
            if item not in allowed:
                raise ConfigError(
                    f"Invalid value {value} for configuration {name}: String must be one of: {', '.join(allowed)}"
                )

    return check


def list_of(*allowed: str) -> Check:
    """A list whose items are all ``allowed``; an empty list is valid (Kafka 4's empty cleanup.policy)."""

    def check(name: str, value: str) -> None:
        for item in value.split(","):
            if item and item not in allowed:
                raise ConfigError(
                    f"Invalid value {value} for configuration {name}: String must be one of: {', '.join(allowed)}"
                )

    return check


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class ConfigDef:
    """One config: Kafka's name, type, default (None: no default), validator and doc line."""

    name: str
    type: int
    default: str | None
    check: Check | None = None
    doc: str = ""
    dynamic: bool = False  # broker configs: may be changed with AlterConfigs
    internal: bool = False  # accepted, never listed by DescribeConfigs

    @property
    def sensitive(self) -> bool:
        return self.type == PASSWORD

    def validate(self, raw: str | None) -> str | None:
        """The value as stored (trimmed, lists without blanks); ConfigError when Kafka refuses it."""
        if raw is None:
            return None
        value = raw.strip()
        name = self.name
        kind = _TYPE_NAMES[self.type]
        if self.type == BOOLEAN:
            if value.lower() not in ("true", "false"):
                raise ConfigError(
                    f"Invalid value {raw} for configuration {name}: Expected value to be either true or false"
                )
            value = value.lower()
        elif self.type in (INT, SHORT, LONG):
            bits = {INT: 32, SHORT: 16, LONG: 64}[self.type]
            try:
                number = int(value)
            except ValueError:
                raise ConfigError(
                    f"Invalid value {raw} for configuration {name}: Not a number of type {kind}"
                ) from None
            if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
                raise ConfigError(f"Invalid value {raw} for configuration {name}: Not a number of type {kind}")
            value = str(number)
        elif self.type == DOUBLE:
            try:
                number_f = float(value)
            except ValueError:
                raise ConfigError(
                    f"Invalid value {raw} for configuration {name}: Not a number of type {kind}"
                ) from None
            if math.isnan(number_f):
                raise ConfigError(f"Invalid value {raw} for configuration {name}: Not a number of type {kind}")
        elif self.type == LIST:
            value = ",".join(item.strip() for item in value.split(",") if item.strip())
        if self.check is not None:
            self.check(name, value)
        return value


@dataclass(frozen=True)
class Synonym:
    """A broker config that supplies a topic config's default, with its unit in ms (1 = same unit)."""

    name: str
    factor: int = 1


def _topic_defs() -> dict[str, tuple[ConfigDef, tuple[Synonym, ...]]]:
    c = ConfigDef
    s = Synonym
    defs: list[tuple[ConfigDef, tuple[Synonym, ...]]] = [
        (
            c(
                "cleanup.policy",
                LIST,
                "delete",
                list_of("compact", "delete"),
                "delete: drop old segments; compact: keep the latest record per key; both: compact,delete; "
                "empty: neither (the log is kept whole)",
            ),
            (s("log.cleanup.policy"),),
        ),
        (
            c(
                "compression.type",
                STRING,
                "producer",
                one_of(*COMPRESSION_TYPES),
                "Codec of stored batches; producer keeps the producer's, a codec recompresses on produce",
            ),
            (s("compression.type"),),
        ),
        (
            c("compression.gzip.level", INT, "-1", None, "gzip level when the broker compresses"),
            (s("compression.gzip.level"),),
        ),
        (
            c("compression.lz4.level", INT, "9", between(1, 17), "lz4 level when the broker compresses"),
            (s("compression.lz4.level"),),
        ),
        (
            c("compression.zstd.level", INT, "3", between(-131072, 22), "zstd level when the broker compresses"),
            (s("compression.zstd.level"),),
        ),
        (
            c("delete.retention.ms", LONG, "86400000", at_least(0), "How long tombstones survive compaction"),
            (s("log.cleaner.delete.retention.ms"),),
        ),
        (
            c("file.delete.delay.ms", LONG, "60000", at_least(0), "Delay before a deleted segment's files go"),
            (s("log.segment.delete.delay.ms"),),
        ),
        (
            c("flush.messages", LONG, LONG_MAX, at_least(1), "Messages between forced fsyncs"),
            (s("log.flush.interval.messages"),),
        ),
        (
            c("flush.ms", LONG, LONG_MAX, at_least(0), "Time between forced fsyncs"),
            (s("log.flush.interval.ms"), s("log.flush.scheduler.interval.ms")),
        ),
        (
            c(
                "errors.deadletterqueue.group.enable",
                BOOLEAN,
                "false",
                None,
                "Whether share groups may use this topic as a dead-letter queue (no effect here)",
            ),
            (),
        ),
        (c("follower.replication.throttled.replicas", LIST, "", None, "Throttled replicas (no effect here)"), ()),
        (
            c("index.interval.bytes", INT, "4096", at_least(0), "Bytes between offset index entries"),
            (s("log.index.interval.bytes"),),
        ),
        (c("leader.replication.throttled.replicas", LIST, "", None, "Throttled replicas (no effect here)"), ()),
        (
            c("local.retention.bytes", LONG, "-2", at_least(-2), "Local retention bytes (tiered storage)"),
            (s("log.local.retention.bytes"),),
        ),
        (
            c("local.retention.ms", LONG, "-2", at_least(-2), "Local retention time (tiered storage)"),
            (s("log.local.retention.ms"),),
        ),
        (
            c("max.compaction.lag.ms", LONG, LONG_MAX, at_least(1), "Longest a record stays uncompacted"),
            (s("log.cleaner.max.compaction.lag.ms"),),
        ),
        (
            c(
                "max.decompressed.message.bytes",
                INT,
                "2147483639",
                at_least(0),
                "Largest decompressed record accepted (no limit enforced here beyond the default)",
            ),
            (s("max.decompressed.message.bytes"),),
        ),
        (
            c("max.message.bytes", INT, "1048588", at_least(0), "Largest record batch accepted"),
            (s("message.max.bytes"),),
        ),
        (
            c("message.timestamp.after.max.ms", LONG, "3600000", at_least(0), "Allowed future skew of timestamps"),
            (s("log.message.timestamp.after.max.ms"),),
        ),
        (
            c("message.timestamp.before.max.ms", LONG, LONG_MAX, at_least(0), "Allowed past skew of timestamps"),
            (s("log.message.timestamp.before.max.ms"),),
        ),
        (
            c(
                "message.timestamp.type",
                STRING,
                "CreateTime",
                one_of("CreateTime", "LogAppendTime"),
                "CreateTime keeps the producer's timestamps, LogAppendTime stamps the broker's time",
            ),
            (s("log.message.timestamp.type"),),
        ),
        (
            c(
                "min.cleanable.dirty.ratio",
                DOUBLE,
                "0.5",
                between(0, 1),
                "Dirty share of the log that triggers compaction",
            ),
            (s("log.cleaner.min.cleanable.ratio"),),
        ),
        (
            c("min.compaction.lag.ms", LONG, "0", at_least(0), "Shortest time a record stays uncompacted"),
            (s("log.cleaner.min.compaction.lag.ms"),),
        ),
        (
            c("min.insync.replicas", INT, "1", at_least(1), "Replicas that must acknowledge acks=all"),
            (s("min.insync.replicas"),),
        ),
        (c("preallocate", BOOLEAN, "false", None, "Preallocate segment files"), (s("log.preallocate"),)),
        (
            c("remote.copy.lag.bytes", LONG, "-1", None, "Tiered storage upload size lag (no effect here)"),
            (s("log.remote.copy.lag.bytes"),),
        ),
        (
            c("remote.copy.lag.ms", LONG, "0", None, "Tiered storage upload time lag (no effect here)"),
            (s("log.remote.copy.lag.ms"),),
        ),
        (c("remote.log.copy.disable", BOOLEAN, "false", None, "Tiered storage copy switch"), ()),
        (c("remote.log.delete.on.disable", BOOLEAN, "false", None, "Tiered storage delete switch"), ()),
        (c("remote.storage.enable", BOOLEAN, "false", None, "Tiered storage (not supported here)"), ()),
        (
            c("retention.bytes", LONG, "-1", None, "Size above which old segments are deleted (-1: none)"),
            (s("log.retention.bytes"),),
        ),
        (
            c("retention.ms", LONG, "604800000", at_least(-1), "Age after which old segments are deleted (-1: never)"),
            (s("log.retention.ms"), s("log.retention.minutes", 60_000), s("log.retention.hours", 3_600_000)),
        ),
        (
            c("segment.bytes", INT, "1073741824", at_least(1024 * 1024), "Segment size at which the log rolls"),
            (s("log.segment.bytes"),),
        ),
        (
            c("segment.index.bytes", INT, "10485760", at_least(4), "Offset index size limit"),
            (s("log.index.size.max.bytes"),),
        ),
        (
            c("segment.jitter.ms", LONG, "0", at_least(0), "Random jitter subtracted from segment.ms"),
            (s("log.roll.jitter.ms"), s("log.roll.jitter.hours", 3_600_000)),
        ),
        (
            c("segment.ms", LONG, "604800000", at_least(1), "Age at which the log rolls"),
            (s("log.roll.ms"), s("log.roll.hours", 3_600_000)),
        ),
        (
            c("unclean.leader.election.enable", BOOLEAN, "false", None, "Unclean leader election"),
            (s("unclean.leader.election.enable"),),
        ),
        (
            c(
                "internal.segment.bytes",
                INT,
                None,
                at_least(1),
                "Segment size for tests, below the 1 MiB minimum",
                internal=True,
            ),
            (),
        ),
    ]
    return {d.name: (d, syns) for d, syns in defs}


TOPIC_CONFIGS: dict[str, tuple[ConfigDef, tuple[Synonym, ...]]] = _topic_defs()

# Topic-level configs with their built-in defaults (Kafka's names and values).
TOPIC_CONFIG_DEFAULTS: dict[str, str] = {
    name: d.default for name, (d, _) in TOPIC_CONFIGS.items() if d.default is not None and not d.internal
}


def _broker_defs() -> dict[str, ConfigDef]:
    c = ConfigDef
    dyn = True
    defs = [
        # listeners and identity (static)
        c("listeners", LIST, "PLAINTEXT://127.0.0.1:9092", None, "Where the broker listens"),
        c("advertised.listeners", LIST, None, None, "Addresses clients are told to use"),
        c("host", STRING, "127.0.0.1", None, "kafkalite: listen host (instead of listeners)"),
        c("port", INT, "9092", between(0, 65535), "kafkalite: listen port (instead of listeners)"),
        c("advertised.host.name", STRING, None, None, "kafkalite: advertised host"),
        c("advertised.port", INT, None, between(1, 65535), "kafkalite: advertised port"),
        c("log.dirs", LIST, None, None, "Data directory (the first one is used)"),
        c("log.dir", LIST, "/tmp/kafka-logs", None, "Data directory when log.dirs is unset"),
        c("node.id", INT, "1", at_least(0), "This broker's id"),
        c("broker.id", INT, "-1", None, "This broker's id (alias of node.id)"),
        c("num.partitions", INT, "1", at_least(1), "Partitions of auto-created topics"),
        c("default.replication.factor", INT, "1", between(1, 1), "Replication factor of auto-created topics"),
        c("auto.create.topics.enable", BOOLEAN, "true", None, "Create unknown topics on Metadata"),
        c("delete.topic.enable", BOOLEAN, "true", None, "Allow DeleteTopics"),
        # replication in a simulated cluster (kafkalite.broker.replication; Kafka's defaults)
        c("replica.lag.time.max.ms", INT, "30000", at_least(1), "A follower behind this long leaves the ISR"),
        c("auto.leader.rebalance.enable", BOOLEAN, "true", None, "Move leadership back to preferred replicas"),
        c("leader.imbalance.check.interval.seconds", INT, "300", at_least(1), "How often leaders are rebalanced"),
        c("leader.imbalance.per.broker.percentage", INT, "10", at_least(0), "Imbalance that triggers a rebalance"),
        # authorization (kafkalite.broker.acls): ACL APIs answer SECURITY_DISABLED while this is empty
        c(
            "authorizer.class.name",
            STRING,
            "",
            one_of(
                "", "org.apache.kafka.metadata.authorizer.StandardAuthorizer", "kafka.security.authorizer.AclAuthorizer"
            ),
            "Kafka's StandardAuthorizer (or the old AclAuthorizer name) switches ACLs on",
        ),
        c("super.users", STRING, "", None, "Principals allowed everything, separated by semicolons"),
        c("allow.everyone.if.no.acl.found", BOOLEAN, "false", None, "Allow access to resources without any ACL"),
        c("socket.request.max.bytes", INT, str(100 * 1024 * 1024), at_least(1), "Largest request frame"),
        c(
            "queued.max.request.bytes",
            LONG,
            "-1",
            None,
            "Bytes of received, unhandled requests held across all connections before reading pauses (-1: no cap)",
        ),
        c("connections.max.idle.ms", LONG, "600000", None, "Close connections idle this long (-1: never)"),
        c(
            "max.broker.partitions",
            INT,
            "10000",
            at_least(-1),
            "kafkalite (KIP-578 name): partitions this broker may hold; more is POLICY_VIOLATION (-1: no cap)",
        ),
        c("log.retention.check.interval.ms", LONG, "300000", at_least(1), "How often retention runs"),
        c("log.cleaner.enable", BOOLEAN, "true", None, "Run the log cleaner (compaction)"),
        c("log.cleaner.backoff.ms", LONG, "15000", at_least(0), "Sleep of the cleaner when idle", dyn),
        c("log.cleaner.threads", INT, "1", at_least(0), "Cleaner threads", dyn),
        c("log.cleaner.dedupe.buffer.size", LONG, str(128 * 1024 * 1024), None, "Cleaner offset map memory", dyn),
        c("log.cleaner.io.buffer.size", INT, str(512 * 1024), at_least(0), "Cleaner I/O buffer", dyn),
        c("log.cleaner.io.buffer.load.factor", DOUBLE, "0.9", None, "Cleaner map load factor", dyn),
        c("log.cleaner.io.max.bytes.per.second", DOUBLE, str(float(2**63 - 1)), None, "Cleaner I/O limit", dyn),
        c("group.initial.rebalance.delay.ms", INT, "0", at_least(0), "Wait for more members before a rebalance"),
        c("group.min.session.timeout.ms", INT, "1000", at_least(0), "Smallest session timeout allowed"),
        c("group.max.session.timeout.ms", INT, "1800000", at_least(0), "Largest session timeout allowed"),
        c("offsets.retention.minutes", INT, "10080", at_least(1), "Keep offsets of an empty group this long"),
        # KIP-848 consumer groups and KIP-932 share groups: Kafka 4.4's broker defaults (read from a
        # running 4.4.0, docs/design/issue15.md section 3); the group-level overrides are GROUP configs.
        c("group.coordinator.rebalance.protocols", LIST, "classic,consumer,share", None,
          "Group protocols the coordinator serves"),
        c("group.consumer.heartbeat.interval.ms", INT, "5000", at_least(1), "Consumer-protocol heartbeat interval"),
        c("group.consumer.min.heartbeat.interval.ms", INT, "5000", at_least(1), "Smallest consumer heartbeat interval"),
        c("group.consumer.max.heartbeat.interval.ms", INT, "15000", at_least(1), "Largest consumer heartbeat interval"),
        c("group.consumer.session.timeout.ms", INT, "45000", at_least(1), "Consumer-protocol session timeout"),
        c("group.consumer.min.session.timeout.ms", INT, "45000", at_least(1), "Smallest consumer session timeout"),
        c("group.consumer.max.session.timeout.ms", INT, "60000", at_least(1), "Largest consumer session timeout"),
        c("group.consumer.assignment.interval.ms", INT, "1000", at_least(0),
          "Least time between two target assignments of a consumer group"),
        c("group.consumer.assignors", LIST, "uniform,range", None, "Server-side assignors; the first is the default"),
        c("group.consumer.migration.policy", STRING, "bidirectional",
          one_of("bidirectional", "upgrade", "downgrade", "disabled"), "Classic <-> consumer group conversions"),
        c("group.consumer.max.size", INT, str(2**31 - 1), at_least(1), "Most members of a consumer group"),
        c("group.consumer.regex.refresh.interval.ms", INT, "600000", at_least(1),
          "Least time between two resolutions of a subscription regex"),
        c("group.share.enable", BOOLEAN, "true", None, "Serve share groups (KIP-932)"),
        c("group.share.heartbeat.interval.ms", INT, "5000", at_least(1), "Share-group heartbeat interval"),
        c("group.share.session.timeout.ms", INT, "45000", at_least(1), "Share-group session timeout"),
        c("group.share.assignment.interval.ms", INT, "1000", at_least(0),
          "Least time between two target assignments of a share group"),
        c("group.share.record.lock.duration.ms", INT, "30000", at_least(1), "Acquisition lock of a share record"),
        c("group.share.min.record.lock.duration.ms", INT, "15000", at_least(1), "Smallest acquisition lock"),
        c("group.share.max.record.lock.duration.ms", INT, "60000", at_least(1), "Largest acquisition lock"),
        c("group.share.delivery.count.limit", INT, "5", between(2, 10), "Deliveries before a record is archived"),
        c("group.share.partition.max.record.locks", INT, "2000", between(100, 10000),
          "Records acquired at once per share partition"),
        c("group.share.max.share.sessions", INT, "2000", at_least(1), "Share sessions kept per broker"),
        c("group.share.max.size", INT, "200", between(10, 1000), "Most members of a share group"),
        c("group.share.assignors", LIST, "simple", None, "Share-group assignors"),
        c("offsets.retention.check.interval.ms", LONG, "600000", at_least(1), "How often offsets expire"),
        c("transaction.max.timeout.ms", INT, "900000", at_least(1), "Largest transaction timeout a producer may ask"),
        c("offsets.topic.replication.factor", SHORT, "1", at_least(1), "No effect: offsets are kept in a file"),
        c("offsets.topic.num.partitions", INT, "50", at_least(1), "No effect: offsets are kept in a file"),
        c("transaction.state.log.replication.factor", SHORT, "1", at_least(1), "No effect here"),
        c("transaction.state.log.min.isr", INT, "1", at_least(1), "No effect here"),
        c("transactional.id.expiration.ms", INT, "604800000", at_least(1), "Idle time before a transactional id goes"),
        c("transactions.remove.expired.transaction.cleanup.interval.ms", INT, "3600000", at_least(1),
          "How often expired transactional ids are removed"),
        c("producer.id.expiration.ms", INT, "86400000", at_least(1), "Idle time before a producer's state goes"),
        c("producer.id.expiration.check.interval.ms", INT, "600000", at_least(1), "How often producer state expires"),
        c("share.coordinator.state.topic.replication.factor", SHORT, "1", at_least(1), "No effect here"),
        c("share.coordinator.state.topic.min.isr", SHORT, "1", at_least(1), "No effect here"),
        c("process.roles", LIST, "broker,controller", None, "No effect: one combined node"),
        c("controller.quorum.voters", LIST, "", None, "No effect: one combined node"),
        c("controller.quorum.bootstrap.servers", LIST, "", None, "No effect: one combined node"),
        c("controller.listener.names", LIST, None, None, "No effect: one combined node"),
        c("inter.broker.listener.name", STRING, None, None, "Accepted; no effect: one broker"),
        c(
            "listener.security.protocol.map",
            STRING,
            "PLAINTEXT:PLAINTEXT",
            None,
            "Listener name -> PLAINTEXT or SSL (PLAINTEXT, SSL, SASL_* map to themselves)",
        ),
        c("num.network.threads", INT, "3", at_least(1), "No effect: one event loop", dyn),
        c("num.io.threads", INT, "8", at_least(1), "No effect: one event loop", dyn),
        c("num.recovery.threads.per.data.dir", INT, "2", at_least(1), "No effect", dyn),
        c("socket.send.buffer.bytes", INT, "102400", None, "No effect"),
        c("socket.receive.buffer.bytes", INT, "102400", None, "No effect"),
        c("log.flush.offset.checkpoint.interval.ms", INT, "60000", at_least(0), "No effect"),
        c("log.flush.start.offset.checkpoint.interval.ms", INT, "60000", at_least(0), "No effect"),
        c("ssl.key.password", PASSWORD, None, None, "Password of the PEM private key", dyn),
        c("ssl.keystore.password", PASSWORD, None, None, "Password of a PKCS12 keystore", dyn),
        c("ssl.truststore.password", PASSWORD, None, None, "No effect: PEM truststores have none", dyn),
        c("ssl.keystore.type", STRING, "PEM", None, "PEM (or PKCS12); JKS is refused", dyn),
        c("ssl.keystore.location", STRING, None, None, "PEM file with the key and certificate chain", dyn),
        c("ssl.keystore.certificate.chain", PASSWORD, None, None, "Inline PEM certificate chain", dyn),
        c("ssl.keystore.key", PASSWORD, None, None, "Inline PEM private key", dyn),
        c("ssl.truststore.type", STRING, "PEM", None, "PEM; JKS and PKCS12 are refused", dyn),
        c("ssl.truststore.location", STRING, None, None, "PEM file of trusted CA certificates", dyn),
        c("ssl.truststore.certificates", PASSWORD, None, None, "Inline PEM trusted certificates", dyn),
        c("ssl.client.auth", STRING, "none", one_of("required", "requested", "none"), "Client certificates", dyn),
        c("ssl.enabled.protocols", LIST, "TLSv1.2,TLSv1.3", None, "TLS versions accepted", dyn),
        c("ssl.cipher.suites", LIST, "", None, "OpenSSL cipher names (empty: Python's defaults)", dyn),
        c("ssl.principal.mapping.rules", STRING, "DEFAULT", None, "Certificate DN -> principal name"),
        c("ssl.protocol", STRING, "TLSv1.3", None, "Accepted; ssl.enabled.protocols decides", dyn),
        c("ssl.endpoint.identification.algorithm", STRING, "https", None, "No effect on a broker", dyn),
        # ---- sasl settings
        c("sasl.jaas.config", PASSWORD, None, None, "JAAS of SASL listeners (prefer listener.name.<l>.<mech>.*)", dyn),
        c("sasl.enabled.mechanisms", LIST, "GSSAPI", None, "PLAIN, SCRAM-SHA-256/512, OAUTHBEARER (no GSSAPI)", dyn),
        c("sasl.mechanism.inter.broker.protocol", STRING, "GSSAPI", None, "Accepted; no effect: one broker"),
        c("sasl.server.max.receive.size", INT, "524288", at_least(1), "Largest frame before SASL authentication"),
        c("connections.max.reauth.ms", LONG, "0", at_least(0), "Session lifetime of SASL logins (KIP-368, 0: none)"),
        c("connection.failed.authentication.delay.ms", INT, "100", at_least(0), "Delay before a failed login closes"),
        c("sasl.oauthbearer.sub.claim.name", STRING, "sub", None, "Principal claim of OAUTHBEARER tokens", dyn),
        c("sasl.oauthbearer.scope.claim.name", STRING, "scope", None, "Scope claim of OAUTHBEARER tokens", dyn),
        c("sasl.oauthbearer.jwks.endpoint.url", STRING, None, None, "JWKS of signed OAUTHBEARER tokens", dyn),
        c("sasl.oauthbearer.jwks.endpoint.refresh.ms", LONG, "3600000", at_least(0), "JWKS refresh period", dyn),
        c("sasl.oauthbearer.clock.skew.seconds", INT, "30", at_least(0), "Leeway of exp/iat (signed tokens)", dyn),
        c("sasl.oauthbearer.expected.audience", LIST, None, None, "Accepted aud values (signed tokens)", dyn),
        c("sasl.oauthbearer.expected.issuer", STRING, None, None, "Required iss (signed tokens)", dyn),
        c("sasl.server.callback.handler.class", CLASS, None, None, "OAuthBearerValidatorCallbackHandler: JWKS"),
        # ---- scram settings
        c("kafkalite.add.scram", PASSWORD, None, _add_scram_entries,
          "Initial SCRAM users, as kafka-storage format --add-scram entries separated by ';', e.g. "
          "SCRAM-SHA-256=[name=alice,password=alice-secret]; added at start where the user has no "
          "credential for that mechanism yet", internal=True),
        # ---- sec-hardening settings: Kafka's per-broker SASL/listener configs, accepted through AlterConfigs
        # as Kafka's DynamicBrokerConfig does (broker/configs.py has the per-broker/cluster-wide rules)
        c("sasl.kerberos.service.name", STRING, None, None, "Accepted; no effect: GSSAPI is not served", dyn),
        c("sasl.kerberos.kinit.cmd", STRING, "/usr/bin/kinit", None, "Accepted; no effect: GSSAPI is not served", dyn),
        c("sasl.kerberos.ticket.renew.window.factor", DOUBLE, "0.8", None, "Accepted; no effect", dyn),
        c("sasl.kerberos.ticket.renew.jitter", DOUBLE, "0.05", None, "Accepted; no effect", dyn),
        c("sasl.kerberos.min.time.before.relogin", LONG, "60000", None, "Accepted; no effect", dyn),
        c("sasl.kerberos.principal.to.local.rules", LIST, "DEFAULT", None, "Accepted; no effect", dyn),
        c("sasl.login.refresh.window.factor", DOUBLE, "0.8", between(0.5, 1.0), "Accepted; no effect", dyn),
        c("sasl.login.refresh.window.jitter", DOUBLE, "0.05", between(0.0, 0.25), "Accepted; no effect", dyn),
        c("sasl.login.refresh.min.period.seconds", SHORT, "60", between(0, 900), "Accepted; no effect", dyn),
        c("sasl.login.refresh.buffer.seconds", SHORT, "300", between(0, 3600), "Accepted; no effect", dyn),
        c("background.threads", INT, "10", at_least(1), "Accepted; no effect: one event loop", dyn),
        c("max.connections", INT, "2147483647", at_least(0), "Accepted; no effect", dyn),
        c("max.connection.creation.rate", INT, "2147483647", at_least(0), "Accepted; no effect", dyn),
        # ---- quotas settings
        c("quota.window.num", INT, "11", at_least(1), "Samples kept by client quota rate sensors"),
        c("quota.window.size.seconds", INT, "1", at_least(1), "Length of each client quota sample"),
        # kafkalite's own settings
        c("kafkalite.fsync", STRING, "never", one_of(*FSYNC_POLICIES), "never, interval or always"),
        c("kafkalite.fsync.interval.ms", INT, "1000", at_least(1), "fsync period of the interval policy"),
        c(
            "kafkalite.brokers",
            INT,
            "1",
            between(1, 64),
            "Broker identities simulated in this process (node ids 1..N, ports consecutive from port)",
        ),
        c(
            "kafkalite.open.segment.files.max",
            INT,
            "-1",
            at_least(-1),
            "Segment files kept open at once, least recently used closed first (-1: half of RLIMIT_NOFILE)",
        ),
        # broker defaults for topic configs (dynamic)
        c("log.cleanup.policy", LIST, "delete", list_of("compact", "delete"), "Default cleanup.policy", dyn),
        c("compression.type", STRING, "producer", one_of(*COMPRESSION_TYPES), "Default compression.type", dyn),
        c("compression.gzip.level", INT, "-1", None, "Default compression.gzip.level", dyn),
        c("compression.lz4.level", INT, "9", between(1, 17), "Default compression.lz4.level", dyn),
        c("compression.zstd.level", INT, "3", between(-131072, 22), "Default compression.zstd.level", dyn),
        c("log.cleaner.delete.retention.ms", LONG, "86400000", at_least(0), "Default delete.retention.ms", dyn),
        c("log.segment.delete.delay.ms", LONG, "60000", at_least(0), "Default file.delete.delay.ms", dyn),
        c("log.flush.interval.messages", LONG, LONG_MAX, at_least(1), "Default flush.messages", dyn),
        c("log.flush.interval.ms", LONG, None, None, "Default flush.ms", dyn),
        c("log.flush.scheduler.interval.ms", LONG, LONG_MAX, None, "Default flush.ms fallback"),
        c("log.index.interval.bytes", INT, "4096", at_least(0), "Default index.interval.bytes", dyn),
        c("log.local.retention.bytes", LONG, "-2", at_least(-2), "Default local.retention.bytes", dyn),
        c("log.local.retention.ms", LONG, "-2", at_least(-2), "Default local.retention.ms", dyn),
        c("log.cleaner.max.compaction.lag.ms", LONG, LONG_MAX, at_least(1), "Default max.compaction.lag.ms", dyn),
        c("message.max.bytes", INT, "1048588", at_least(0), "Largest record batch accepted", dyn),
        c("max.decompressed.message.bytes", INT, "2147483639", at_least(0), "Default of the topic config", dyn),
        c("log.remote.copy.lag.bytes", LONG, "-1", None, "Default remote.copy.lag.bytes", dyn),
        c("log.remote.copy.lag.ms", LONG, "0", None, "Default remote.copy.lag.ms", dyn),
        c("log.message.timestamp.after.max.ms", LONG, "3600000", at_least(0), "Default", dyn),
        c("log.message.timestamp.before.max.ms", LONG, LONG_MAX, at_least(0), "Default", dyn),
        c("log.message.timestamp.type", STRING, "CreateTime", one_of("CreateTime", "LogAppendTime"), "Default", dyn),
        c("log.cleaner.min.cleanable.ratio", DOUBLE, "0.5", between(0, 1), "Default min.cleanable.dirty.ratio", dyn),
        c("log.cleaner.min.compaction.lag.ms", LONG, "0", at_least(0), "Default min.compaction.lag.ms", dyn),
        c("min.insync.replicas", INT, "1", at_least(1), "Default min.insync.replicas", dyn),
        c("log.preallocate", BOOLEAN, "false", None, "Default preallocate", dyn),
        c("log.retention.bytes", LONG, "-1", None, "Default retention.bytes", dyn),
        c("log.retention.ms", LONG, None, at_least(-1), "Default retention.ms", dyn),
        c("log.retention.minutes", INT, None, None, "Default retention.ms in minutes (static only)"),
        c("log.retention.hours", INT, "168", None, "Default retention.ms in hours (static only)"),
        c("log.segment.bytes", INT, "1073741824", at_least(1024 * 1024), "Default segment.bytes", dyn),
        c("log.index.size.max.bytes", INT, "10485760", at_least(4), "Default segment.index.bytes", dyn),
        c("log.roll.jitter.ms", LONG, None, None, "Default segment.jitter.ms", dyn),
        c("log.roll.jitter.hours", INT, "0", at_least(0), "Default segment.jitter.ms in hours (static only)"),
        c("log.roll.ms", LONG, None, None, "Default segment.ms", dyn),
        c("log.roll.hours", INT, "168", at_least(1), "Default segment.ms in hours (static only)"),
        c("unclean.leader.election.enable", BOOLEAN, "false", None, "Default unclean.leader.election.enable", dyn),
    ]
    return {d.name: d for d in defs}


BROKER_CONFIGS: dict[str, ConfigDef] = _broker_defs()


def validate_topic_configs(configs: dict[str, str | None]) -> dict[str, str]:
    """Normalised topic configs; ConfigError for an unknown name or a value Kafka refuses."""
    out: dict[str, str] = {}
    for name, raw in configs.items():
        entry = TOPIC_CONFIGS.get(name)
        if entry is None:
            raise ConfigError(f"Unknown topic config name: {name}")
        value = entry[0].validate(raw)
        if value is not None:
            out[name] = value
    return out


def validate_broker_configs(configs: dict[str, str]) -> dict[str, str]:
    """Normalised broker configs of known names; ConfigError for a value Kafka refuses."""
    out: dict[str, str] = {}
    for name, raw in configs.items():
        defn = BROKER_CONFIGS.get(name)
        value = defn.validate(raw) if defn is not None else raw.strip()
        if value is not None:
            out[name] = value
    return out


def topic_default(name: str, levels: Iterable[dict[str, str]]) -> tuple[str | None, str | None, int]:
    """The broker-level default of topic config ``name``: (value, synonym that gave it, level index).

    ``levels`` are broker config layers, strongest first; index len(levels) means the built-in
    default. As in Kafka, synonyms count first in their order (``log.retention.ms`` before
    ``log.retention.minutes`` before ``log.retention.hours``), then layers for each synonym.
    """
    defn, synonyms = TOPIC_CONFIGS[name]
    layers = list(levels)
    for syn in synonyms:
        for index, layer in enumerate(layers):
            if syn.name in layer:
                return _scaled(layer[syn.name], syn.factor), syn.name, index
    for syn in synonyms:
        default = BROKER_CONFIGS[syn.name].default if syn.name in BROKER_CONFIGS else None
        if default is not None:
            return _scaled(default, syn.factor), syn.name, len(layers)
    return defn.default, None, len(layers)


def _scaled(value: str, factor: int) -> str:
    return value if factor == 1 else str(int(value) * factor)


# ---- server.properties ---------------------------------------------------------------------


def parse_properties(text: str) -> dict[str, str]:
    """Java ``.properties`` syntax: ``#``/``!`` comments, ``=``, ``:`` or blank separators,
    backslash line continuations and escapes."""
    props: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].lstrip()
        i += 1
        if not line or line[0] in "#!":
            continue
        while _continues(line) and i < len(lines):
            line = line[:-1] + lines[i].lstrip()
            i += 1
        if _continues(line):
            line = line[:-1]
        key_chars: list[str] = []
        pos = 0
        while pos < len(line):
            ch = line[pos]
            if ch == "\\" and pos + 1 < len(line):
                key_chars.append(_unescape(line[pos + 1]))
                pos += 2
                continue
            if ch in "=: \t":
                break
            key_chars.append(ch)
            pos += 1
        rest = line[pos:].lstrip(" \t")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t")
        value_chars: list[str] = []
        pos = 0
        while pos < len(rest):
            if rest[pos] == "\\" and pos + 1 < len(rest):
                value_chars.append(_unescape(rest[pos + 1]))
                pos += 2
            else:
                value_chars.append(rest[pos])
                pos += 1
        props["".join(key_chars)] = "".join(value_chars)
    return props


def _continues(line: str) -> bool:
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def _unescape(ch: str) -> str:
    return {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(ch, ch)


def _parse_listener(value: str, setting: str) -> tuple[str, int]:
    """(host, port) of the first listener in a ``listeners`` value (the default listener's address)."""
    _, host, port = parse_listener_list(value, setting)[0]
    return host, port


def parse_listener_list(value: str, setting: str) -> list[tuple[str, str, int]]:
    """``NAME://host:port,...`` as (NAME, host, port) triples; ConfigError naming ``setting`` if malformed."""
    result: list[tuple[str, str, int]] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if "://" not in item:
            raise ConfigError(f"Invalid value {value} for configuration {setting}: expected NAME://host:port")
        name, address = item.split("://", 1)
        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit() or not name:
            raise ConfigError(f"Invalid value {value} for configuration {setting}: expected NAME://host:port")
        name = name.upper()
        if any(name == other for other, _, _ in result):
            raise ConfigError(f"Invalid value {value} for configuration {setting}: listener {name} appears twice")
        result.append((name, host.strip("[]") or "0.0.0.0", int(port)))
    if not result:
        raise ConfigError(f"Invalid value {value} for configuration {setting}: no listener")
    return result


# ---- the broker's settings -----------------------------------------------------------------


def typed_value(defn: ConfigDef, value: str | None) -> Any:
    """A stored (validated) value as Python sees it: bool, int, float, list of str, str, or None."""
    if value is None:
        return None
    if defn.type == BOOLEAN:
        return value == "true"
    if defn.type in (INT, SHORT, LONG):
        return int(value)
    if defn.type == DOUBLE:
        return float(value)
    if defn.type == LIST:
        return [item for item in value.split(",") if item]
    return value


#: The BrokerConfig field metadata key naming the broker config a field holds.
CONFIG_NAME = "config"


def _setting(name: str) -> Any:
    """A ``BrokerConfig`` field holding broker config ``name``: its default is the table's, typed."""
    defn = BROKER_CONFIGS[name]
    return field(default=typed_value(defn, defn.default), metadata={CONFIG_NAME: name})


def advertised_address(
    host: str, port: int, advertised_host: str | None, advertised_port: int | None
) -> tuple[str, int]:
    """What clients are told to connect to: the advertised address, else the bound one (a wildcard bind
    advertises ``localhost``, which a client can reach, rather than ``0.0.0.0``)."""
    host = advertised_host or host
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    return host, advertised_port or port


@dataclass
class BrokerConfig:
    """Everything ``kafkalite serve`` can be told; one instance per broker.

    The ConfigDef table (``BROKER_CONFIGS``) is the single source of names, types and defaults.
    The fields below are the settings the broker reads often, each declared with ``_setting(name)``
    so its default is the table's; every other broker config, including one newly added to the
    table, is read with ``get(name)``, typed by its table entry. Fields can be given directly
    (the embedded ``Broker``) or derived from Kafka-named settings by ``from_properties``.

    ``static_configs`` holds every Kafka-named setting given at start (properties file and flags,
    and fields given directly with a non-default value), as DescribeConfigs reports them with
    the source STATIC_BROKER_CONFIG. ``topic_defaults`` is the effective broker-level default of
    every topic config; the broker recomputes it, and the fields of dynamic configs, when a
    dynamic broker config changes (``refresh_topic_defaults``).
    """

    host: str = _setting("host")
    port: int = _setting("port")
    advertised_host: str | None = _setting("advertised.host.name")
    advertised_port: int | None = _setting("advertised.port")
    data_dir: Path = field(default_factory=lambda: Path(DEFAULT_DATA_DIR))
    #: Every directory ``log.dirs`` lists (the first is ``data_dir``); partitions spread over
    #: them when there are several (storage/log_manager.py). Empty: ``data_dir`` alone.
    log_dirs: list[Path] = field(default_factory=list)
    node_id: int = _setting("node.id")
    auto_create_topics: bool = _setting("auto.create.topics.enable")
    num_partitions: int = _setting("num.partitions")
    default_replication_factor: int = _setting("default.replication.factor")
    message_max_bytes: int = _setting("message.max.bytes")
    socket_request_max_bytes: int = _setting("socket.request.max.bytes")
    fsync: str = _setting("kafkalite.fsync")
    fsync_interval_ms: int = _setting("kafkalite.fsync.interval.ms")
    #: Simulated broker identities (1: a plain single broker, node ``node_id``; N: nodes 1..N).
    brokers: int = _setting("kafkalite.brokers")
    group_initial_rebalance_delay_ms: int = _setting("group.initial.rebalance.delay.ms")
    group_min_session_timeout_ms: int = _setting("group.min.session.timeout.ms")
    group_max_session_timeout_ms: int = _setting("group.max.session.timeout.ms")
    offsets_retention_minutes: int = _setting("offsets.retention.minutes")
    offsets_retention_check_interval_ms: int = _setting("offsets.retention.check.interval.ms")
    transaction_max_timeout_ms: int = _setting("transaction.max.timeout.ms")
    retention_check_interval_ms: int = _setting("log.retention.check.interval.ms")
    log_cleaner_enable: bool = _setting("log.cleaner.enable")
    log_cleaner_backoff_ms: int = _setting("log.cleaner.backoff.ms")
    static_configs: dict[str, str] = field(default_factory=dict)
    #: ``listener.name.<name>.*`` settings as given (per-listener overrides, see server/listeners.py).
    listener_settings: dict[str, str] = field(default_factory=dict)
    topic_defaults: dict[str, str] = field(default_factory=lambda: dict(TOPIC_CONFIG_DEFAULTS))
    _dynamic_layers: list[dict[str, str]] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.log_dirs = [Path(d) for d in self.log_dirs]
        if self.fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_POLICIES)}, not {self.fsync!r}")
        # A field given directly is a static setting like one from server.properties; the caller's
        # dict is copied first, so one reused for several brokers never carries the last one's port.
        self.static_configs = dict(self.static_configs)
        for attr, name in _FIELDS.items():
            value = getattr(self, attr)
            if value != _field_default(name):
                self.static_configs.setdefault(name, _as_setting(value))
        self.refresh_topic_defaults([])

    def refresh_topic_defaults(self, dynamic_layers: list[dict[str, str]]) -> None:
        """Recompute ``topic_defaults`` and the fields of dynamic broker configs from dynamic layers
        (strongest first) over the static configs."""
        self._dynamic_layers = list(dynamic_layers)
        layers = [*dynamic_layers, self.static_configs]
        for name in TOPIC_CONFIG_DEFAULTS:
            value, _, _ = topic_default(name, layers)
            if value is not None:
                self.topic_defaults[name] = value
        for attr, name in _FIELDS.items():
            if BROKER_CONFIGS[name].dynamic:
                setattr(self, attr, self._layered(name))

    def get(self, name: str) -> Any:
        """Broker config ``name``, typed by its table entry (bool, int, float, list of str, str or None).

        A field's value for the settings that have one; otherwise the dynamic value if one is set,
        else the static one, else the table's default. KeyError for a name not in the table. Not
        for a per-request path: read it at start or when configs change.
        """
        if name not in BROKER_CONFIGS:
            raise KeyError(f"unknown broker config {name!r}")
        attr = _ATTRS.get(name)
        if attr is not None:
            return getattr(self, attr)
        return self._layered(name)

    @property
    def dynamic_layers(self) -> list[dict[str, str]]:
        """The dynamic broker config layers in force (per broker, then cluster default), strongest first."""
        return list(self._dynamic_layers)

    def _layered(self, name: str) -> Any:
        defn = BROKER_CONFIGS[name]
        for layer in (*self._dynamic_layers, self.static_configs):
            if name in layer:
                return typed_value(defn, layer[name])
        return typed_value(defn, defn.default)

    @property
    def advertised(self) -> tuple[str, int]:
        """The address clients are told to connect to (Metadata, FindCoordinator)."""
        return advertised_address(self.host, self.port, self.advertised_host, self.advertised_port)

    @classmethod
    def from_properties(cls, props: dict[str, str], overrides: dict[str, str] | None = None) -> BrokerConfig:
        """A config from Kafka-named settings; ``overrides`` (flags, env vars) win over ``props``.

        Unknown names are logged as warnings and ignored; a value Kafka would refuse raises
        ConfigError naming the setting.
        """
        merged = {**props, **(overrides or {})}
        # Per-listener settings (listener.name.<name>.ssl.*) are open-ended: kept aside, read by server/listeners.py.
        listener_settings = {k: v for k, v in merged.items() if k.startswith("listener.name.")}
        for name in merged:
            if name not in BROKER_CONFIGS and name not in listener_settings:
                log.warning("unknown configuration %r ignored", name)
        known = validate_broker_configs({k: v for k, v in merged.items() if k in BROKER_CONFIGS})

        kwargs: dict[str, Any] = {}
        # Listener strings first: an explicit host, port, advertised.host.name or advertised.port wins.
        if "listeners" in known:
            kwargs["host"], kwargs["port"] = _parse_listener(known["listeners"], "listeners")
        if "advertised.listeners" in known:
            # The default (first) listener's advertised address: the entry of the same name.
            entries = parse_listener_list(known["advertised.listeners"], "advertised.listeners")
            if "listeners" in known:
                first = parse_listener_list(known["listeners"], "listeners")[0][0]
                entries = [entry for entry in entries if entry[0] == first]
            if entries:
                kwargs["advertised_host"], kwargs["advertised_port"] = entries[0][1], entries[0][2]
        for attr, name in _FIELDS.items():
            if name in known:
                kwargs[attr] = typed_value(BROKER_CONFIGS[name], known[name])
        dirs = known.get("log.dirs") or known.get("log.dir")
        if dirs:
            listed = [Path(d.strip()) for d in dirs.split(",") if d.strip()]
            kwargs["data_dir"] = listed[0]
            if len(listed) > 1:
                kwargs["log_dirs"] = listed
        if "node.id" not in known and int(known.get("broker.id", "-1")) >= 0:
            kwargs["node_id"] = int(known["broker.id"])
        config = cls(static_configs=known, listener_settings=listener_settings, **kwargs)
        if config.group_min_session_timeout_ms > config.group_max_session_timeout_ms:
            raise ConfigError("group.min.session.timeout.ms must not exceed group.max.session.timeout.ms")
        return config


#: BrokerConfig field -> the broker config it holds, and back.
_FIELDS: dict[str, str] = {f.name: f.metadata[CONFIG_NAME] for f in fields(BrokerConfig) if CONFIG_NAME in f.metadata}
_ATTRS: dict[str, str] = {name: attr for attr, name in _FIELDS.items()}


def _field_default(name: str) -> Any:
    defn = BROKER_CONFIGS[name]
    return typed_value(defn, defn.default)


def _as_setting(value: Any) -> str:
    """A field's value as a Kafka setting string (the inverse of ``typed_value``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def load_properties_file(path: Path) -> dict[str, str]:
    """The settings of a ``server.properties`` file; ConfigError if it cannot be read."""
    try:
        return parse_properties(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
