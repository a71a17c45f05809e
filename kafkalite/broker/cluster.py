"""Topics and their partition logs: the broker's single owner of topic state.

Creating, looking up and deleting topics happens only here, and every change is persisted
through the storage catalog before it is visible to clients.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field

from kafkalite.clock import Clock
from kafkalite.config import BrokerConfig
from kafkalite.errors import ErrorCode
from kafkalite.storage.catalog import Catalog, TopicRecord
from kafkalite.storage.log import LogConfig, PartitionLog

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


@dataclass
class Topic:
    name: str
    topic_id: uuid.UUID
    configs: dict[str, str]
    partitions: list[PartitionLog] = field(default_factory=list)

    def config(self, name: str, defaults: dict[str, str]) -> str:
        return self.configs.get(name, defaults[name])


class Cluster:
    """All topics of this single-broker cluster."""

    def __init__(self, config: BrokerConfig, catalog: Catalog, clock: Clock) -> None:
        self.config = config
        self.catalog = catalog
        self.clock = clock
        self.cluster_id = catalog.cluster_id()
        self.topics: dict[str, Topic] = {}
        self.by_id: dict[uuid.UUID, Topic] = {}

    def open(self, clean_shutdown: bool) -> None:
        for record in self.catalog.load_topics():
            self._materialise(record, clean_shutdown)

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

    def log_config(self, configs: dict[str, str]) -> LogConfig:
        merged = {**self.config.topic_defaults, **configs}
        return LogConfig(
            segment_bytes=int(merged["segment.bytes"]),
            segment_ms=int(merged["segment.ms"]),
            index_interval_bytes=int(merged["index.interval.bytes"]),
            log_append_time=merged["message.timestamp.type"] == "LogAppendTime",
        )

    # ---- changes -----------------------------------------------------------------------------

    def check_new_topic(self, name: str, partitions: int, replication_factor: int) -> None:
        """Raise TopicError if CreateTopics for these arguments must fail."""
        problem = topic_name_problem(name)
        if problem:
            raise TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem)
        if name in self.topics:
            raise TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
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

    def create_topic(self, name: str, partitions: int, configs: dict[str, str] | None = None) -> Topic:
        """Create, persist and open a topic; the caller has run ``check_new_topic``."""
        record = TopicRecord(name, uuid.uuid4(), partitions, dict(configs or {}))
        topic = self._materialise(record, clean_shutdown=True)
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
        log.info("deleted topic %s", name)

    def _materialise(self, record: TopicRecord, clean_shutdown: bool) -> Topic:
        topic = Topic(record.name, record.topic_id, record.configs)
        log_config = self.log_config(record.configs)
        for index in range(record.partitions):
            plog = PartitionLog(self.catalog.partition_dir(record.name, index), log_config, self.clock.now_ms)
            plog.open(clean_shutdown)
            topic.partitions.append(plog)
        self.topics[record.name] = topic
        self.by_id[record.topic_id] = topic
        return topic

    def _save(self) -> None:
        self.catalog.save_topics(
            [TopicRecord(t.name, t.topic_id, len(t.partitions), t.configs) for t in self.topics.values()]
        )
