"""Where the LogManager's blocking jobs run: worker threads, completing back on the event loop.

Thin by design: what to fsync, write or remove is decided by ``storage/log_manager.py`` on the
loop and captured in a job (``storage/jobs.py``); this module only runs jobs off the loop.

- Maintenance jobs (a roll's fsync and producer snapshot, the ``interval`` flush, checkpoints,
  removal of ``.deleted`` files and ``-delete`` directories) run in one dedicated thread, in the
  order they were submitted, so a later checkpoint never lands before an earlier one.
- ``always``-policy fsyncs, which a produce or EndTxn response waits for, use the loop's
  default executor so they never queue behind a large directory removal.
- Compaction (Kafka's LogCleaner) cleans the dirtiest partition in the default executor and
  swaps the result in on the loop, one partition at a time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kafkalite.clock import Clock
from kafkalite.storage.cleaner import CleanTask, clean
from kafkalite.storage.jobs import Job, run_inline
from kafkalite.storage.log import PartitionLog
from kafkalite.storage.log_manager import LogManager
from kafkalite.storage.metadata_log import CompactionJob, MetadataLog

log = logging.getLogger(__name__)


class LogTasks:
    """Runs a LogManager's jobs and timers on behalf of the event loop (its only caller)."""

    def __init__(self, logs: LogManager, clock: Clock) -> None:
        self.logs = logs
        self.clock = clock
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight: set[asyncio.Future[None]] = set()
        self._interval_flush: asyncio.Future[None] | None = None
        self.cleaning: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- running jobs --------------------------------------------------------------------------

    def start(self) -> None:
        """Route the LogManager's jobs to the worker thread (call from the running loop)."""
        self._loop = asyncio.get_running_loop()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafkalite-log")
        self.logs.attach(self.submit)

    def submit(self, job: Job) -> None:
        """Run ``job`` in the maintenance thread; failures are logged (they lose no acknowledged data)."""
        if self._loop is None or self._pool is None or self._loop.is_closed():
            job.run()
            return
        self._track(self._loop.run_in_executor(self._pool, job.run))

    def _track(self, future: asyncio.Future[None]) -> asyncio.Future[None]:
        self._in_flight.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: asyncio.Future[None]) -> None:
        self._in_flight.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("background log job failed", exc_info=future.exception())

    def run_now(self, job: Job) -> Awaitable[None]:
        """Run ``job`` in a worker thread and let the caller await it (latency-sensitive fsyncs)."""
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(None, job.run)

    async def run_ordered(self, job: Job) -> None:
        """Run ``job`` after the maintenance jobs submitted before it, and wait for it."""
        if self._loop is None or self._pool is None:
            job.run()
            return
        await asyncio.shield(self._track(self._loop.run_in_executor(self._pool, job.run)))

    async def drain(self) -> None:
        """Wait for every job submitted so far (shutdown, before the logs are closed)."""
        while self._in_flight or self._tasks:
            await asyncio.gather(*self._in_flight, *self._tasks, return_exceptions=True)

    def stop(self) -> None:
        """After ``drain``: jobs run inline again, the thread is released."""
        self.logs.attach(run_inline)
        pool, self._pool, self._loop = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=True)

    # ---- the fsync policy ------------------------------------------------------------------------

    async def flush_now(self, plog: PartitionLog) -> None:
        """The ``always`` policy: fsync what ``plog`` holds so far in a worker thread, then return."""
        await self.run_now(plog.sync_job())

    def flush_dirty(self) -> None:
        """The ``interval`` policy's timer: fsync logs appended to since the last one, off the loop.

        While the previous flush still runs, the dirty set keeps growing and goes with the next.
        """
        if self._interval_flush is not None and not self._interval_flush.done():
            return
        job = self.logs.dirty_sync_job()
        if job is None:
            return
        if self._loop is None or self._pool is None:
            job.run()
            return
        self._interval_flush = self._track(self._loop.run_in_executor(self._pool, job.run))

    # ---- coordinator metadata logs ---------------------------------------------------------------

    def compact_metadata(self, mlog: MetadataLog, snapshot: Callable[[], list[dict[str, Any]]]) -> None:
        """Compact a coordinator's metadata log off the loop once it is due (called from the tick)."""
        job = mlog.compaction_job(snapshot)
        if job is None:
            return
        if self._loop is None or self._pool is None:  # no worker: all at once, as before
            while isinstance(job, CompactionJob):
                job.run()
                job = mlog.finish_compaction()
            job.run()
            return
        task = self._loop.create_task(self._compact(mlog, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _compact(self, mlog: MetadataLog, job: CompactionJob) -> None:
        try:
            while True:
                await self.run_ordered(job)
                following = mlog.finish_compaction()
                if not isinstance(following, CompactionJob):
                    self.submit(following)
                    return
                job = following
        except OSError:
            log.exception("compacting %s failed; the log is kept as it is", mlog.path.name)
            mlog.abandon_compaction()

    # ---- retention and the cleaner ----------------------------------------------------------------

    def retention_tick(self) -> int:
        return self.logs.retention_pass()

    def cleaner_tick(self) -> None:
        """Start cleaning the dirtiest compacted partition unless a cleaning is running."""
        if self.cleaning is not None and not self.cleaning.done():
            return
        picked = self.logs.pick_cleaning(self.clock.now_ms())
        if picked is not None:
            self.cleaning = asyncio.get_running_loop().create_task(self._clean(*picked))

    async def _clean(self, tp: tuple[str, int], plog: PartitionLog, task: CleanTask) -> None:
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, clean, task)
        except Exception:
            log.exception("cleaning %s failed", plog.directory.name)
            return
        try:
            self.logs.finish_cleaning(tp, plog, result)
        except OSError:
            log.exception("swapping cleaned segments of %s failed", plog.directory.name)

    @property
    def cleanings(self) -> int:
        return self.logs.cleanings

