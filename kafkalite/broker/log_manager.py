"""Background log maintenance: retention and compaction, run from the server's timers.

Retention (Kafka's LogManager cleanup task) deletes whole expired segments on the loop; it is
cheap, so it runs inline every ``log.retention.check.interval.ms``. Compaction (Kafka's
LogCleaner) picks the dirtiest compacted partition every ``log.cleaner.backoff.ms``, cleans it
in a worker thread and swaps the cleaned segments in on the loop, one partition at a time, so
produce and fetch are never blocked by it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from kafkalite.broker.cluster import Cluster
from kafkalite.clock import Clock
from kafkalite.storage.cleaner import clean, dirty_ratio, plan_cleaning, swap_in
from kafkalite.storage.log import PartitionLog

log = logging.getLogger(__name__)


class LogMaintenance:
    def __init__(self, cluster: Cluster, clock: Clock) -> None:
        self.cluster = cluster
        self.clock = clock
        self.first_dirty: weakref.WeakKeyDictionary[PartitionLog, int] = weakref.WeakKeyDictionary()
        self.cleaning: asyncio.Task[None] | None = None
        self.cleanings = 0

    def retention_tick(self) -> int:
        """Apply retention to every partition; returns the number of segments deleted."""
        deleted = 0
        for topic in list(self.cluster.topics.values()):
            for plog in topic.partitions:
                if plog.segments:
                    try:
                        deleted += plog.enforce_retention()
                    except OSError:
                        log.exception("retention failed for %s", plog.directory.name)
        try:
            self.cluster.checkpoint_log_start_offsets()  # also retries one a full disk refused
        except OSError as exc:
            log.warning("could not checkpoint log start offsets: %s", exc)
        return deleted

    def cleaner_tick(self) -> None:
        """Start cleaning the dirtiest compacted partition unless a cleaning is running."""
        if self.cleaning is not None and not self.cleaning.done():
            return
        now = self.clock.now_ms()
        best: tuple[float, PartitionLog] | None = None
        for topic in list(self.cluster.topics.values()):
            for plog in topic.partitions:
                if not plog.config.compact or len(plog.segments) < 2:
                    continue
                first_dirty = self.first_dirty.get(plog, 0)
                if plan_cleaning(plog, first_dirty, now) is None:
                    continue
                ratio = dirty_ratio(plog, first_dirty, now)
                if best is None or ratio > best[0]:
                    best = (ratio, plog)
        if best is not None:
            self.cleaning = asyncio.get_running_loop().create_task(self._clean(best[1]))

    async def _clean(self, plog: PartitionLog) -> None:
        task = plan_cleaning(plog, self.first_dirty.get(plog, 0), self.clock.now_ms())
        if task is None:
            return
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, clean, task)
        except Exception:
            log.exception("cleaning %s failed", plog.directory.name)
            return
        swap_in(plog, result)
        self.first_dirty[plog] = task.end_offset
        self.cleanings += 1
