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
from kafkalite.broker.limits import broker_setting
from kafkalite.broker.log_manager import LogMaintenance
from kafkalite.broker.notifier import AppendNotifier
from kafkalite.broker.producer_ids import ProducerIdAllocator
from kafkalite.clock import Clock
from kafkalite.config import BrokerConfig
from kafkalite.coordinator.group import GroupConfig, GroupCoordinator
from kafkalite.coordinator.txn import Partition, TxnCoordinator, TxnEffects
from kafkalite.errors import ErrorCode
from kafkalite.storage.catalog import Catalog
from kafkalite.storage.handles import FileHandles
from kafkalite.storage.log import PartitionLog
from kafkalite.storage.metadata_log import MetadataLog
from kafkalite.storage.write_behind import WriteBehind

log = logging.getLogger(__name__)


class BrokerState:
    """What request handlers may read and change."""

    def __init__(self, config: BrokerConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.catalog = Catalog(config.data_dir)
        self.write_behind = WriteBehind()
        # Open segment files, bounded (kafkalite.open.segment.files.max, else from RLIMIT_NOFILE).
        self.file_handles = FileHandles(broker_setting(config, "kafkalite.open.segment.files.max"))
        self.cluster = Cluster(config, self.catalog, self.clock, self.write_behind, self.file_handles)
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
            ),
            persist=self.group_log.append,
        )
        self.txn_log = MetadataLog(config.data_dir / "transactions.log")
        self.txns = TxnCoordinator(
            TxnEffects(
                persist=self.txn_log.append,
                allocate_producer_id=self.producer_ids.allocate,
                write_markers=self._write_markers,
                settle_offsets=self.groups.settle_txn,
                partition_exists=lambda topic, p: self.cluster.partition(topic, p) is not None,
            ),
            max_timeout_ms=config.transaction_max_timeout_ms,
        )
        self.telemetry = ClientTelemetry()
        self.clean_start = False
        self.closing = False
        self._dirty: set[PartitionLog] = set()

    def open(self) -> None:
        self.clean_start = self.catalog.take_clean_shutdown_marker()
        self.cluster.open(self.clean_start)
        self.configs.open()
        now = self.clock.now_ms()
        for record in self.group_log.replay():
            self.groups.replay(record, now)
        self.group_log.open()
        for record in self.txn_log.replay():
            self.txns.replay(record)
        self.txn_log.open()
        self.txns.recover(now)
        if not self.clean_start and self.cluster.topics:
            log.info("previous shutdown was not clean: active segments were recovered")

    def close(self) -> None:
        self.groups.fail_waiting(ErrorCode.NOT_COORDINATOR)
        self.cluster.close()
        self.file_handles.close_all()  # none should be left: every segment closed its own
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
        self.group_log.maybe_compact(self.groups.snapshot)
        self.txn_log.maybe_compact(self.txns.snapshot)

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
