"""Topics and their partition logs: the broker's single owner of topic state.

Creating, looking up and deleting topics happens only here, and every change is persisted
through the storage catalog before it is visible to clients.
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from kafkalite.clock import Clock
from kafkalite.config import BrokerConfig
from kafkalite.errors import ErrorCode
from kafkalite.storage.catalog import Catalog, TopicRecord
from kafkalite.storage.handles import FileHandles
from kafkalite.storage.log import LogConfig, PartitionLog
from kafkalite.storage.write_behind import WriteBehind

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
    partitions: list[PartitionLog] = field(default_factory=list)
    #: Derived from ``configs`` and the broker defaults; reset by ``Cluster.refresh_log_configs``.
    produce_settings: ProduceSettings | None = None

    def config(self, name: str, defaults: dict[str, str]) -> str:
        return self.configs.get(name, defaults[name])


class Cluster:
    """All topics of this single-broker cluster."""

    def __init__(
        self,
        config: BrokerConfig,
        catalog: Catalog,
        clock: Clock,
        write_behind: WriteBehind | None = None,
        file_handles: FileHandles | None = None,
    ) -> None:
        self.config = config
        self.write_behind = write_behind
        self.file_handles = file_handles
        self.catalog = catalog
        self.clock = clock
        self.cluster_id = catalog.cluster_id()
        self.topics: dict[str, Topic] = {}
        self.by_id: dict[uuid.UUID, Topic] = {}
        self._saved_start_offsets: dict[tuple[str, int], int] = {}

    def open(self, clean_shutdown: bool) -> None:
        for record in self.catalog.load_topics():
            self._materialise(record, clean_shutdown)
        for (name, index), offset in self.catalog.load_log_start_offsets().items():
            plog = self.partition(name, index)
            if plog is not None:
                plog.restore_log_start_offset(offset)
        self._saved_start_offsets = self._start_offsets()

    def close(self) -> None:
        for topic in self.topics.values():
            for plog in topic.partitions:
                plog.close()

    # ---- lookups ---------------------------------------------------------------------------

    def partition(self, topic: str, index: int) -> PartitionLog | None:
        t = self.topics.get(topic)
        if t is None or not 0 <= index < len(t.partitions):
            return None
        return t.partitions[index]

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

    def check_new_topic(self, name: str, partitions: int, replication_factor: int) -> None:
        """Raise TopicError if CreateTopics for these arguments must fail."""
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
        if replication_factor > 1:
            raise TopicError(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"Unable to replicate the partition {replication_factor} time(s): "
                "The target replication factor of "
                f"{replication_factor} cannot be reached because only 1 broker(s) are registered.",
            )

    def create_topic(
        self, name: str, partitions: int, configs: dict[str, str] | None = None, save: bool = True
    ) -> Topic:
        """Create, persist and open a topic; the caller has run ``check_new_topic``.

        ``save=False``: the caller creates several and calls ``save_topics`` once (CreateTopics).
        """
        record = TopicRecord(name, uuid.uuid4(), partitions, dict(configs or {}))
        topic = self._materialise(record, clean_shutdown=True)
        if save:
            self._save()
        log.info("created topic %s with %d partition(s)", name, partitions)
        return topic

    def auto_create(self, name: str) -> Topic:
        return self.create_topic(name, self.config.num_partitions)

    def delete_topic(self, name: str) -> None:
        topic = self.topics.pop(name)
        del self.by_id[topic.topic_id]
        self._save()
        for plog in topic.partitions:
            plog.delete()
        self.checkpoint_log_start_offsets()
        log.info("deleted topic %s", name)

    def add_partitions(self, name: str, total: int, prepared: Collection[Path] = ()) -> None:
        """Grow a topic to ``total`` partitions (CreatePartitions); the caller checked ``total``.

        ``prepared``: directories just made for these partitions (limits.prepare_partition_dirs).
        """
        topic = self.topics[name]
        log_config = self.log_config(topic.configs)
        for index in range(len(topic.partitions), total):
            directory = self.catalog.partition_dir(name, index)
            if directory not in prepared and directory.exists():  # leftovers of an older topic of this name
                shutil.rmtree(directory, ignore_errors=True)
            plog = PartitionLog(directory, log_config, self.clock.now_ms, self.write_behind, self.file_handles)
            plog.open(clean_shutdown=True)
            topic.partitions.append(plog)
        self._save()
        log.info("topic %s now has %d partition(s)", name, total)

    def set_topic_configs(self, name: str, configs: dict[str, str]) -> None:
        """Replace a topic's config overrides, persist them and apply them to its logs at once."""
        topic = self.topics[name]
        topic.configs = dict(configs)
        self._save()
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
            log_config = self.log_config(t.configs)
            for plog in t.partitions:
                before, plog.config = plog.config, log_config
                if plog.segments and _retention_tightened(before, log_config):
                    tightened = True
                    try:
                        plog.enforce_retention()
                    except OSError:
                        log.exception("retention failed for %s", plog.directory.name)
        if tightened:
            self.checkpoint_log_start_offsets()

    # ---- log start offsets -------------------------------------------------------------------

    def _start_offsets(self) -> dict[tuple[str, int], int]:
        return {
            (t.name, i): plog.log_start_offset
            for t in self.topics.values()
            for i, plog in enumerate(t.partitions)
            if plog.segments and plog.log_start_offset > 0
        }

    def checkpoint_log_start_offsets(self) -> None:
        """Persist log start offsets when they changed (Kafka's log-start-offset-checkpoint)."""
        current = self._start_offsets()
        if current != self._saved_start_offsets:
            self.catalog.save_log_start_offsets(current)
            self._saved_start_offsets = current

    def _materialise(self, record: TopicRecord, clean_shutdown: bool) -> Topic:
        topic = Topic(record.name, record.topic_id, record.configs)
        log_config = self.log_config(record.configs)
        for index in range(record.partitions):
            plog = PartitionLog(
                self.catalog.partition_dir(record.name, index),
                log_config,
                self.clock.now_ms,
                self.write_behind,
                self.file_handles,
            )
            plog.open(clean_shutdown)
            topic.partitions.append(plog)
        self.topics[record.name] = topic
        self.by_id[record.topic_id] = topic
        return topic

    def save_topics(self) -> None:
        self._save()

    def _save(self) -> None:
        self.catalog.save_topics(
            [TopicRecord(t.name, t.topic_id, len(t.partitions), t.configs) for t in self.topics.values()]
        )


def _retention_tightened(before: LogConfig, after: LogConfig) -> bool:
    """Whether ``after`` may delete data that ``before`` kept (-1 means no limit)."""

    def stricter(old: int, new: int) -> bool:
        return new >= 0 and (old < 0 or new < old)

    return (after.delete and not before.delete) or (after.delete and (
        stricter(before.retention_ms, after.retention_ms) or stricter(before.retention_bytes, after.retention_bytes)))
