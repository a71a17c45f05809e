"""The Broker state object: configuration, clock, topics and wake-ups, opened and closed once.

Everything that handlers share hangs off this object, and the event loop is its only user.
The server layer owns sockets and calls ``dispatch`` with whole frames.
"""

from __future__ import annotations

import asyncio
import logging

from kafkalite.broker.client_telemetry import ClientTelemetry
from kafkalite.broker.cluster import Cluster
from kafkalite.broker.configs import ConfigResources
from kafkalite.broker.log_manager import LogMaintenance
from kafkalite.broker.notifier import AppendNotifier
from kafkalite.broker.producer_ids import ProducerIdAllocator
from kafkalite.clock import Clock
from kafkalite.config import BROKER_CONFIGS, BrokerConfig
from kafkalite.coordinator.group import GroupConfig, GroupCoordinator
from kafkalite.coordinator.txn import Partition, TxnCoordinator, TxnEffects
from kafkalite.errors import ErrorCode
from kafkalite.storage.catalog import Catalog
from kafkalite.storage.log import PartitionLog
from kafkalite.storage.metadata_log import MetadataLog
from kafkalite.storage.write_behind import WriteBehind

log = logging.getLogger(__name__)


def broker_setting(config: BrokerConfig, name: str) -> int:
    """A numeric broker setting given at start, else its default in the ConfigDef table."""
    value = config.static_configs.get(name) or BROKER_CONFIGS[name].default
    assert value is not None, name
    return int(value)


class BrokerState:
    """What request handlers may read and change."""

    def __init__(self, config: BrokerConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.catalog = Catalog(config.data_dir)
        self.write_behind = WriteBehind()
        self.cluster = Cluster(config, self.catalog, self.clock, self.write_behind)
        self.configs = ConfigResources(config, self.catalog, self.cluster)
        self.logs = LogMaintenance(self.cluster, self.clock)
        self.notifier = AppendNotifier()
        self.producer_ids = ProducerIdAllocator(config.data_dir)
        self.group_log = MetadataLog(config.data_dir / "consumer_offsets.log")
        self.groups = GroupCoordinator(
            GroupConfig(
                initial_rebalance_delay_ms=config.group_initial_rebalance_delay_ms,
                min_session_timeout_ms=config.group_min_session_timeout_ms,
                max_session_timeout_ms=config.group_max_session_timeout_ms,
                offsets_retention_ms=config.offsets_retention_minutes * 60_000,
                offsets_retention_check_interval_ms=config.offsets_retention_check_interval_ms,
            ),
            self.group_log,
            fsync=config.fsync == "always",  # group and offset records are on disk before the answer
        )
        self.txn_log = MetadataLog(config.data_dir / "transactions.log")
        self.txns = TxnCoordinator(
            TxnEffects(
                allocate_producer_id=self.producer_ids.allocate,
                write_markers=self._write_markers,
                settle_offsets=self.groups.settle_txn,
                partition_exists=lambda topic, p: self.cluster.partition(topic, p) is not None,
            ),
            self.txn_log,
            max_timeout_ms=config.transaction_max_timeout_ms,
            fsync=config.fsync == "always",  # transaction records are on disk before the answer
            transactional_id_expiration_ms=broker_setting(config, "transactional.id.expiration.ms"),
            remove_expired_interval_ms=broker_setting(
                config, "transactions.remove.expired.transaction.cleanup.interval.ms"
            ),
        )
        self.producer_id_expiration_ms = broker_setting(config, "producer.id.expiration.ms")
        self._producer_expiry = broker_setting(config, "producer.id.expiration.check.interval.ms")
        self._next_producer_expiry = self.clock.now_ms() + self._producer_expiry
        self.telemetry = ClientTelemetry()
        self.clean_start = False
        self.closing = False
        self._dirty: set[PartitionLog] = set()

    def open(self) -> None:
        self.clean_start = self.catalog.take_clean_shutdown_marker()
        self.cluster.open(self.clean_start)
        self.configs.open()
        now = self.clock.now_ms()
        self.groups.load(self.group_log.replay(), now)
        self.group_log.open()
        self.txns.load(self.txn_log.replay())
        self.txn_log.open()
        self.txns.recover(now)
        if not self.clean_start and self.cluster.topics:
            log.info("previous shutdown was not clean: active segments were recovered")

    def close(self) -> None:
        self.groups.fail_waiting(ErrorCode.NOT_COORDINATOR)
        self.cluster.close()
        self.group_log.close()
        self.txn_log.close()
        self.catalog.mark_clean_shutdown()

    async def flush_now(self, plog: PartitionLog) -> None:
        """fsync in a worker thread (the ``always`` policy), so other connections are not stalled."""
        plog.write_pending()  # here: appends from other connections may touch it meanwhile
        await asyncio.get_running_loop().run_in_executor(None, plog.fsync)

    def appended(self, topic: str, partition: int, plog: PartitionLog) -> None:
        """Note a fresh append for the ``interval`` policy and wake fetchers waiting on it."""
        if self.config.fsync == "interval":
            self._dirty.add(plog)
        self.notifier.notify((topic, partition))

    def tick(self) -> None:
        """Run coordinator timers that are due (the server calls this periodically)."""
        now = self.clock.now_ms()
        self.groups.tick(now)
        self.txns.tick(now)
        if now >= self._next_producer_expiry:
            self._next_producer_expiry = now + self._producer_expiry
            self.expire_producers(now)
        self.group_log.maybe_compact(self.groups.snapshot)
        self.txn_log.maybe_compact(self.txns.snapshot)

    def expire_producers(self, now: int) -> None:
        """Forget idle producers in every partition (Kafka's producer.id.expiration.ms check)."""
        for topic in list(self.cluster.topics.values()):
            for plog in topic.partitions:
                plog.producer_state.remove_expired(now, self.producer_id_expiration_ms)

    def _write_markers(self, producer_id: int, producer_epoch: int, commit: bool, partitions: set[Partition]) -> None:
        """Write COMMIT or ABORT markers into the transaction's partitions and wake their readers."""
        for topic, index in partitions:
            plog = self.cluster.partition(topic, index)
            if plog is not None and plog.append_marker(producer_id, producer_epoch, commit) is not None:
                if self.config.fsync == "always":
                    plog.flush()  # markers are rare: flush inline so the decision is on disk before EndTxn answers
                self.appended(topic, index, plog)

    def flush_dirty(self) -> None:
        """Fsync logs appended to since the last call (the ``interval`` policy's timer)."""
        dirty, self._dirty = self._dirty, set()
        for plog in dirty:
            if plog.segments:
                plog.flush()
