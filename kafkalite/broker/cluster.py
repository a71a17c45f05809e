"""Topic metadata: the broker's single owner of topic names, ids, configs and partition counts.

Creating, looking up and deleting topics happens only here, and every change is persisted
through the storage catalog before it is visible to clients. The partition logs themselves
belong to the storage ``LogManager``: this module derives each topic's ``LogConfig`` and asks
it to open, reconfigure or delete logs; ``Topic.partitions`` is the manager's list, read-only
here, and ``partition(topic, index)`` delegates to it.
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from kafkalite.clock import Clock
from kafkalite.config import BrokerConfig
from kafkalite.errors import ErrorCode
from kafkalite.storage.catalog import Catalog, TopicRecord
from kafkalite.storage.log import LogConfig, PartitionLog
from kafkalite.storage.log_manager import LogManager

log = logging.getLogger(__name__)

_LEGAL_TOPIC = re.compile(r"^[a-zA-Z0-9._-]+$")
MAX_TOPIC_NAME = 249


class TopicError(Exception):
    """A topic operation failed with a Kafka error code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def topic_name_problem(name: str | None) -> str | None:
    """Kafka's topic name rules; the reason a name is illegal, or None."""
    if not name:
        return "Topic name is illegal, it can't be empty"
    if name in (".", ".."):
        return 'Topic name cannot be "." or ".."'
    if len(name) > MAX_TOPIC_NAME:
        return f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME} characters"
    if not _LEGAL_TOPIC.match(name):
        return (
            f"Topic name {name!r} is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        )
    return None


class ProduceSettings(NamedTuple):
    """The topic configs every Produce request reads, parsed once per config change."""

    compacted: bool
    max_message_bytes: int
    compression_type: str
    create_time: bool
    timestamp_before_max_ms: int
    timestamp_after_max_ms: int


@dataclass
class Topic:
    name: str
    topic_id: uuid.UUID
    configs: dict[str, str]
    #: The LogManager's logs of this topic, by partition index (its list: never changed here).
    partitions: Sequence[PartitionLog] = field(default_factory=list)
    #: Derived from ``configs`` and the broker defaults; reset by ``Cluster.refresh_log_configs``.
    produce_settings: ProduceSettings | None = None

    def config(self, name: str, defaults: dict[str, str]) -> str:
        return self.configs.get(name, defaults[name])

    @property
    def partition_count(self) -> int:
        return len(self.partitions)


class Cluster:
    """All topics of this single-broker cluster; their logs are ``logs`` (the LogManager)."""

    def __init__(self, config: BrokerConfig, catalog: Catalog, clock: Clock, logs: LogManager) -> None:
        self.config = config
        self.logs = logs
        self.catalog = catalog
        self.clock = clock
        self.cluster_id = catalog.cluster_id()
        self.topics: dict[str, Topic] = {}
        self.by_id: dict[uuid.UUID, Topic] = {}
        #: topics.json is behind memory (a save failed on a full disk): saved again at the next tick.
        self.unsaved = False

    def open(self, clean_shutdown: bool) -> None:
        deleted = self.catalog.deleted_topic_ids()
        records = []
        for record in self.catalog.load_topics():
            if record.topic_id in deleted:  # deleted while topics.json could not be saved
                for index in range(record.partitions):
                    for log_dir in self.logs.log_dirs:
                        shutil.rmtree(log_dir / f"{record.name}-{index}", ignore_errors=True)
                self.unsaved = True
                continue
            records.append(record)
        self.logs.load(((r.name, r.partitions, self.log_config(r.configs)) for r in records), clean_shutdown)
        for record in records:
            self._remember(Topic(record.name, record.topic_id, record.configs, self.logs.logs_of(record.name)))

    def close(self) -> bool:
        """Close every partition log; False if any could not be flushed (see PartitionLog.close)."""
        return self.logs.close()

    # ---- lookups ---------------------------------------------------------------------------

    def partition(self, topic: str, index: int) -> PartitionLog | None:
        """The handlers' lookup of a partition's log (None when unknown)."""
        return self.logs.get(topic, index)

    def topic_config(self, topic: Topic, name: str) -> str:
        return topic.config(name, self.config.topic_defaults)

    def produce_settings(self, topic: Topic) -> ProduceSettings:
        """What Produce checks per topic, cached until the topic's or the broker's configs change."""
        settings = topic.produce_settings
        if settings is None:
            get = self.topic_config
            settings = topic.produce_settings = ProduceSettings(
                compacted="compact" in get(topic, "cleanup.policy"),
                max_message_bytes=int(get(topic, "max.message.bytes")),
                compression_type=get(topic, "compression.type"),
                create_time=get(topic, "message.timestamp.type") == "CreateTime",
                timestamp_before_max_ms=int(get(topic, "message.timestamp.before.max.ms")),
                timestamp_after_max_ms=int(get(topic, "message.timestamp.after.max.ms")),
            )
        return settings

    def log_config(self, configs: dict[str, str]) -> LogConfig:
        merged = {**self.config.topic_defaults, **configs}
        policy = merged["cleanup.policy"].split(",")
        return LogConfig(
            segment_bytes=int(merged.get("internal.segment.bytes") or merged["segment.bytes"]),
            segment_ms=int(merged["segment.ms"]),
            index_interval_bytes=int(merged["index.interval.bytes"]),
            log_append_time=merged["message.timestamp.type"] == "LogAppendTime",
            retention_ms=int(merged["retention.ms"]),
            retention_bytes=int(merged["retention.bytes"]),
            delete="delete" in policy,
            compact="compact" in policy,
            delete_retention_ms=int(merged["delete.retention.ms"]),
            min_cleanable_dirty_ratio=float(merged["min.cleanable.dirty.ratio"]),
            min_compaction_lag_ms=int(merged["min.compaction.lag.ms"]),
        )

    # ---- changes -----------------------------------------------------------------------------

    def check_new_topic(self, name: str, partitions: int, replication_factor: int, brokers: int = 1) -> None:
        """Raise TopicError if CreateTopics for these arguments must fail (``brokers``: the live ones)."""
        problem = topic_name_problem(name)
        if problem:
            raise TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem)
        if name in self.topics:
            raise TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
        # As Kafka: '.' and '_' collide in metric names, so names differing only by them cannot coexist.
        folded = name.replace(".", "_")
        for existing in self.topics:
            if existing.replace(".", "_") == folded:
                raise TopicError(
                    ErrorCode.INVALID_TOPIC_EXCEPTION, f"Topic '{name}' collides with existing topic: {existing}"
                )
        if partitions <= 0:
            raise TopicError(ErrorCode.INVALID_PARTITIONS, "Number of partitions must be larger than 0.")
        if replication_factor <= 0:
            raise TopicError(ErrorCode.INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0.")
        if replication_factor > brokers:
            raise TopicError(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"Unable to replicate the partition {replication_factor} time(s): "
                "The target replication factor of "
                f"{replication_factor} cannot be reached because only {brokers} broker(s) are registered "
                "or some brokers have all their log directories cordoned.",
            )

    def create_topic(
        self,
        name: str,
        partitions: int,
        configs: dict[str, str] | None = None,
        save: bool = True,
        prepared: Collection[Path] = (),
    ) -> Topic:
        """Create, persist and open a topic; the caller has run ``check_new_topic``.

        ``save=False``: the caller creates several and calls ``save_topics`` once (CreateTopics);
        ``prepared``: directories just made for them (limits.prepare_partition_dirs).
        """
        configs = dict(configs or {})
        plogs = self.logs.create(name, partitions, self.log_config(configs), prepared)
        topic = self._remember(Topic(name, uuid.uuid4(), configs, plogs))
        if save:
            try:
                self._save()
            except OSError:  # a full disk: undo, so memory and topics.json agree
                del self.topics[name]
                del self.by_id[topic.topic_id]
                self.logs.delete_topic(name)
                raise
        log.info("created topic %s with %d partition(s)", name, partitions)
        return topic

    def auto_create(self, name: str) -> Topic:
        return self.create_topic(name, self.config.num_partitions)

    def delete_topic(self, name: str) -> None:
        """Delete a topic, even on a full disk: tombstone, then remove its files, then save.

        The tombstone (an empty file) makes the deletion survive a restart even if
        ``topics.json`` cannot be saved yet; removing the files first frees the space that
        saving it needs. A save that still fails is retried at the next tick (``save_if_behind``).
        """
        topic = self.topics.pop(name)
        del self.by_id[topic.topic_id]
        try:
            self.catalog.mark_topic_deleted(topic.topic_id)
        except OSError as exc:
            log.warning("could not leave a tombstone for topic %s: %s", name, exc)
        self.logs.delete_topic(name)
        self.unsaved = True
        self.save_if_behind()
        log.info("deleted topic %s", name)

    def discard_topic(self, name: str) -> None:
        """Forget a topic created but never saved (topics.json could not be written): memory matches disk."""
        topic = self.topics.pop(name)
        del self.by_id[topic.topic_id]
        self.logs.delete_topic(name)

    def save_if_behind(self) -> None:
        """Save topics.json if a save failed before; tombstones go once it is saved."""
        if not self.unsaved:
            return
        try:
            self._save()
        except OSError as exc:
            log.warning("could not save topics.json (%s): retrying", exc)
            return
        self.unsaved = False
        self.catalog.clear_deleted_topics()

    def add_partitions(self, name: str, total: int, prepared: Collection[Path] = ()) -> None:
        """Grow a topic to ``total`` partitions (CreatePartitions); the caller checked ``total``.

        ``prepared``: directories just made for these partitions (limits.prepare_partition_dirs).
        """
        topic = self.topics[name]
        before = len(topic.partitions)
        self.logs.add_partitions(name, total, self.log_config(topic.configs), prepared)
        try:
            self._save()
        except OSError:  # a full disk: undo, so memory and topics.json agree
            self.logs.remove_partitions(name, before)
            raise
        log.info("topic %s now has %d partition(s)", name, total)

    def set_topic_configs(self, name: str, configs: dict[str, str]) -> None:
        """Replace a topic's config overrides, persist them and apply them to its logs at once."""
        topic = self.topics[name]
        old, topic.configs = topic.configs, dict(configs)
        try:
            self._save()
        except OSError:  # a full disk: the old configs stay, in memory as on disk
            topic.configs = old
            raise
        self.refresh_log_configs(topic)

    def refresh_log_configs(self, topic: Topic | None = None) -> None:
        """Re-derive the log engine's configs (after a topic or broker default changed).

        Retention made stricter (a lower ``retention.ms`` or ``retention.bytes``, or ``delete``
        added to the policy) is applied to the affected partitions at once, as a user lowering
        retention in a test expects, rather than at the next periodic check (5 minutes).
        """
        tightened = False
        for t in [topic] if topic is not None else list(self.topics.values()):
            t.produce_settings = None
            tightened |= self.logs.reconfigure(t.name, self.log_config(t.configs))
        if tightened:
            self.logs.checkpoint()

    def checkpoint_log_start_offsets(self) -> None:
        """Persist log start offsets when they changed (the LogManager's checkpoint job)."""
        self.logs.checkpoint()

    def _remember(self, topic: Topic) -> Topic:
        self.topics[topic.name] = topic
        self.by_id[topic.topic_id] = topic
        return topic

    def save_topics(self) -> None:
        self._save()

    def _save(self) -> None:
        self.catalog.save_topics(
            [TopicRecord(t.name, t.topic_id, len(t.partitions), t.configs) for t in self.topics.values()]
        )
        if self.unsaved:
            self.unsaved = False
            self.catalog.clear_deleted_topics()
