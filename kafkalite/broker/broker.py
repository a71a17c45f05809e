"""The Broker state object: configuration, clock, topics and wake-ups, opened and closed once.

Everything that handlers share hangs off this object, and the event loop is its only user.
The server layer owns sockets and calls ``dispatch`` with whole frames.
"""

from __future__ import annotations

import asyncio
import errno
import logging

from kafkalite.broker.acls import AclStore, authorizer_enabled
from kafkalite.broker.client_metrics_configs import ClientMetricsConfigs
from kafkalite.broker.client_telemetry import ClientTelemetry
from kafkalite.broker.cluster import Cluster
from kafkalite.broker.configs import ConfigResources
from kafkalite.broker.faults import FaultRegistry
from kafkalite.broker.log_tasks import LogTasks
from kafkalite.broker.nodes import Nodes, nodes_from_config
from kafkalite.broker.notifier import AppendNotifier
from kafkalite.broker.producer_ids import ProducerIdAllocator
from kafkalite.broker.quorum import Quorum
from kafkalite.broker.quotas import QuotaStore
from kafkalite.broker.replication import ReplicaManager
from kafkalite.broker.scram_store import ScramStore, split_add_scram_setting
from kafkalite.clock import Clock
from kafkalite.config import BrokerConfig
from kafkalite.coordinator.group import GroupConfig, GroupCoordinator
from kafkalite.coordinator.txn import Partition, TxnCoordinator, TxnEffects
from kafkalite.errors import ErrorCode
from kafkalite.storage.catalog import Catalog
from kafkalite.storage.fs import FileSystem, SwitchableFS
from kafkalite.storage.handles import FileHandles
from kafkalite.storage.log import PartitionLog
from kafkalite.storage.log_manager import LogManager
from kafkalite.storage.metadata_log import MetadataLog
from kafkalite.storage.write_behind import WriteBehind

log = logging.getLogger(__name__)


class BrokerState:
    """What request handlers may read and change."""

    def __init__(
        self, config: BrokerConfig, clock: Clock | None = None, fs: FileSystem | None = None,
        nodes: Nodes | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or Clock()
        #: Every storage write goes through this: the real disk until a storage fault engages the
        #: switch (``faults.disk_full``), or the FaultyFS a test gave.
        self.fs = fs or SwitchableFS()
        self.catalog = Catalog(config.data_dir, self.fs)
        self.write_behind = WriteBehind(self.clock.now_ms)
        # Open segment files, bounded (kafkalite.open.segment.files.max, else from RLIMIT_NOFILE).
        self.file_handles = FileHandles(int(config.get("kafkalite.open.segment.files.max")))
        #: The partition logs' owner (fsync policy, retention, checkpoints, deletion).
        self.log_manager = LogManager(
            self.catalog, self.clock.now_ms, config.fsync, self.write_behind, self.file_handles,
            log_dirs=config.log_dirs if len(config.log_dirs) > 1 else None,
        )
        self.cluster = Cluster(config, self.catalog, self.clock, self.log_manager)
        #: Broker identities and their liveness (one, or N in a simulated cluster).
        self.nodes = nodes or nodes_from_config(config)
        #: Leaders, replicas, ISR and epochs of every partition; coordinator placement.
        self.replicas = ReplicaManager(self.nodes, self.cluster)
        #: The simulated KRaft controller quorum DescribeQuorum shows (every node a voter).
        self.quorum = Quorum(self.nodes, self.clock)
        #: Faults on demand (requests, coordinators, storage, nodes); armed by tests only.
        self.faults = FaultRegistry(self)
        #: With N nodes, one LogManager per node behind ``replica_logs.ClusterLogs``.
        self.replicating = self.replicas.clustered
        if self.replicating:
            self.log_manager = self.replicas.logs  # type: ignore[assignment]
        #: The simulated KRaft controller quorum DescribeQuorum shows (every node a voter).
        self.quorum = Quorum(self.nodes, self.clock)
        self.configs = ConfigResources(config, self.catalog, self.cluster)
        #: Runs the log manager's jobs off the loop; retention and cleaner timers.
        self.logs = LogTasks(self.log_manager, self.clock)
        self.notifier = AppendNotifier()
        self.replicas.notify = self.notifier.notify
        self.producer_ids = ProducerIdAllocator(config.data_dir, self.fs)
        self.group_log = MetadataLog(config.data_dir / "consumer_offsets.log", fs=self.fs)
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
        self.txn_log = MetadataLog(config.data_dir / "transactions.log", fs=self.fs)
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
            transactional_id_expiration_ms=int(config.get("transactional.id.expiration.ms")),
            remove_expired_interval_ms=int(config.get("transactions.remove.expired.transaction.cleanup.interval.ms")),
        )
        self.producer_id_expiration_ms = int(config.get("producer.id.expiration.ms"))
        self._producer_expiry = int(config.get("producer.id.expiration.check.interval.ms"))
        self._next_producer_expiry = self.clock.now_ms() + self._producer_expiry
        self.acl_log = MetadataLog(config.data_dir / "acls.log", fs=self.fs)
        self.acls = AclStore(
            self.acl_log,
            authorizer_enabled(str(config.get("authorizer.class.name") or "")),
            super_users=str(config.get("super.users") or ""),
            allow_if_no_acl=bool(config.get("allow.everyone.if.no.acl.found")),
            fsync=config.fsync == "always",
        )
        #: Users' SCRAM credentials (scram.log); ``self.scram.lookup`` is what SCRAM logins read.
        self.scram_log = MetadataLog(config.data_dir / "scram.log", fs=self.fs)
        self.scram = ScramStore(self.scram_log, fsync=config.fsync == "always")
        #: Client quotas (DescribeClientQuotas / AlterClientQuotas) and their sensors, in quotas.log.
        self.quota_log = MetadataLog(config.data_dir / "quotas.log", fs=self.fs)
        self.quotas = QuotaStore(
            self.quota_log,
            self.clock.now_ms,
            samples=int(config.get("quota.window.num")),
            window_seconds=int(config.get("quota.window.size.seconds")),
            fsync=config.fsync == "always",
        )
        #: KIP-714: CLIENT_METRICS subscriptions (client-metrics.json) and the client instances matching them.
        self.client_metrics = ClientMetricsConfigs(config.data_dir, self.fs)
        self.telemetry = ClientTelemetry(self.client_metrics)
        self.clean_start = False
        self.closing = False
        self._marker_syncs: list[asyncio.Future[None]] = []

    def open(self) -> None:
        self.clean_start = self.catalog.take_clean_shutdown_marker()
        self.cluster.open(self.clean_start)
        self.configs.open()
        self.client_metrics.open()
        now = self.clock.now_ms()
        self.groups.load(self.group_log.replay(), now)
        self.group_log.open()
        self.txns.load(self.txn_log.replay())
        self.txn_log.open()
        self.txns.recover(now)
        self.acls.load(self.acl_log.replay())
        self.acl_log.open()
        self.scram.load(self.scram_log.replay())
        self.scram_log.open()
        added = self.scram.add_initial(split_add_scram_setting(str(self.config.get("kafkalite.add.scram") or "")))
        if added:
            log.info("initial SCRAM credentials added: %s", ", ".join(added))
        self.quotas.load(self.quota_log.replay())
        self.quota_log.open()
        if not self.clean_start and self.cluster.topics:
            log.info("previous shutdown was not clean: active segments were recovered")

    def close(self) -> bool:
        """Close every log and coordinator file, whatever fails (a full disk): shutdown finishes.

        Only a close where everything was flushed leaves the clean-shutdown marker (and returns
        True); without it the next start recovers the active segments, which is all a failure
        here costs.
        """
        self.groups.fail_waiting(ErrorCode.NOT_COORDINATOR)
        clean = self.cluster.close()
        self.file_handles.close_all()  # none should be left: every segment closed its own
        try:
            self.replicas.close()
        except OSError as exc:
            clean = False
            log.warning("could not close partitions.log: %s", exc)
        for metadata_log in (self.group_log, self.txn_log, self.acl_log, self.scram_log, self.quota_log):
            try:
                metadata_log.close()
            except OSError as exc:
                clean = False
                log.warning("could not close %s: %s", metadata_log.path, exc)
        if not clean:
            log.warning("storage could not be flushed at shutdown: the next start recovers the logs")
            return False
        try:
            self.catalog.mark_clean_shutdown()
        except OSError as exc:
            log.warning("could not leave the clean-shutdown marker (%s): the next start recovers the logs", exc)
            return False
        return True

    async def flush_now(self, plog: PartitionLog) -> None:
        """fsync in a worker thread (the ``always`` policy), so other connections are not stalled.

        What to sync is captured here, on the loop (a duplicate of the active segment's
        descriptor), so appends and rolls by other connections meanwhile cannot race it.
        """
        await self.logs.flush_now(plog)

    def appended(self, topic: str, partition: int, plog: PartitionLog) -> None:
        """Note a fresh append for the ``interval`` policy and wake fetchers waiting on it."""
        self.log_manager.appended(plog)
        self.notifier.notify((topic, partition))
        if self.replicating:
            self.replicas.appended(topic, partition)

    async def checkpoint_log_start_offsets(self) -> None:
        """Write a moved log start offset before answering (DeleteRecords), off the loop."""
        for job in self.log_manager.checkpoint_jobs():
            await self.logs.run_ordered(job)

    async def markers_synced(self) -> None:
        """Under ``always``: wait until the transaction markers written so far are fsynced."""
        pending, self._marker_syncs = self._marker_syncs, []
        for future in pending:
            await future

    def tick(self) -> None:
        """Run coordinator timers that are due (the server calls this periodically)."""
        now = self.clock.now_ms()
        self.groups.tick(now)
        self.txns.tick(now)
        if self.replicating:
            self.replicas.tick(now)
        self.cluster.save_if_behind()
        if now >= self._next_producer_expiry:
            self._next_producer_expiry = now + self._producer_expiry
            self.expire_producers(now)
        self.logs.compact_metadata(self.group_log, self.groups.snapshot)  # off the loop
        self.logs.compact_metadata(self.txn_log, self.txns.snapshot)

    def expire_producers(self, now: int) -> None:
        """Forget idle producers in every partition (Kafka's producer.id.expiration.ms check)."""
        for topic in list(self.cluster.topics.values()):
            for plog in topic.partitions:
                plog.producer_state.remove_expired(now, self.producer_id_expiration_ms)

    def _write_markers(self, producer_id: int, producer_epoch: int, commit: bool, partitions: set[Partition]) -> None:
        """Write COMMIT or ABORT markers into the transaction's partitions and wake their readers."""
        written: list[PartitionLog] = []
        for topic, index in partitions:
            plog = self.cluster.partition(topic, index)
            if plog is None:
                continue
            offset = plog.append_marker(producer_id, producer_epoch, commit)
            if offset is None:
                continue  # no open transaction here (a retry after a part-way failure)
            # Markers are rare: written now, not at the end of the loop turn, so a refused write
            # (a full disk cuts the marker back and reopens the transaction in this partition) is
            # known before the coordinator records the transaction complete; it retries later.
            plog.write_pending()
            if plog.log_end_offset <= offset:
                kind = "commit" if commit else "abort"
                raise OSError(errno.ENOSPC, f"the {kind} marker for {topic}-{index} could not be written")
            written.append(plog)
            self.appended(topic, index, plog)
        if written and self.config.fsync == "always":
            # Captured now, fsynced in a worker; EndTxn awaits ``markers_synced`` before answering.
            job = self.log_manager.sync_job(written)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (tools, unit tests): at once
                job.run()
                return
            self._marker_syncs = [f for f in self._marker_syncs if not f.done()]
            self._marker_syncs.append(loop.run_in_executor(None, job.run))

    def flush_dirty(self) -> None:
        """Fsync logs appended to since the last call (the ``interval`` policy's timer), off the loop."""
        self.logs.flush_dirty()
