"""The public ``Broker`` object: a whole kafkalite broker inside the caller's process.

Two ways to run it, both on ``KafkaliteServer``:

- threaded (``start()``/``stop()`` or ``with Broker() as b``): the broker gets a thread with
  its own asyncio loop; everything the broker owns stays on that loop, the caller only waits.
- on the caller's loop (``await start_async()``/``await stop_async()`` or ``async with``).

It owns only the thread, the loop handshake and an optional temporary data directory; it
must not reach into broker state (that belongs to the loop).
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from kafkalite.clock import Clock
from kafkalite.config import BrokerConfig

if TYPE_CHECKING:
    from kafkalite.broker.faults import FaultRegistry

START_TIMEOUT_SECONDS = 30.0


class Broker:
    """An in-process kafkalite broker.

    ``port=0`` picks a free port; ``data_dir=None`` uses a temporary directory that is removed
    on stop; ``clock`` replaces the wall clock (a test's ``ManualClock`` moves the broker's time);
    ``fs`` is the file system storage writes through (a ``FaultyFS`` to fail the disk);
    ``control_port`` serves the fault control endpoint over HTTP (kafkalite/control.py).
    Any other keyword is a ``BrokerConfig`` field (``num_partitions``, ``fsync``, ...).

    ``brokers=N`` (N > 1) simulates a cluster in this process: nodes 1..N, each on its own port
    (consecutive from ``port``, or all free with port 0), ``bootstrap_servers`` listing them
    all. ``stop_node``, ``kill_node``, ``start_node``, ``pause_replication``,
    ``resume_replication`` and ``set_latency`` inject node faults from any thread.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
        *,
        log_requests: bool = False,
        metrics_port: int | None = None,
        control_port: int | None = None,
        clock: Clock | None = None,
        fs: Any = None,
        **config: Any,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._given_data_dir = Path(data_dir) if data_dir is not None else None
        self._config_overrides = config
        self._log_requests = log_requests
        self._metrics_port = metrics_port
        self._control_port = control_port
        self._clock = clock
        self._fs = fs  # a kafkalite.storage.fs.FileSystem (a FaultyFS in tests); None: the real disk
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._server: Any = None  # KafkaliteServer, imported lazily
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async_mode = False
        self.config: BrokerConfig | None = None

    # ---- what callers read ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for clients' ``bootstrap.servers``."""
        return self._running_server().bootstrap_servers  # type: ignore[no-any-return]

    @property
    def port(self) -> int:
        return self._running_server().config.port  # type: ignore[no-any-return]

    @property
    def listeners(self) -> dict[str, tuple[str, int]]:
        """Listener name -> the (host, port) clients of that listener are told, with the bound ports."""
        return self._running_server().listener_addresses  # type: ignore[no-any-return]

    @property
    def metrics_port(self) -> int | None:
        """The port of the Prometheus endpoint, or None when metrics are off."""
        return self._running_server().metrics_port  # type: ignore[no-any-return]

    @property
    def control_port(self) -> int | None:
        """The port of the fault control endpoint (``control_port=``), or None when it is off."""
        return self._running_server().control_port  # type: ignore[no-any-return]

    @property
    def faults(self) -> FaultRegistry:
        """Faults on demand (kafkalite.broker.faults), safe to drive from the test's thread:
        ``broker.faults.fail("Produce", "NOT_LEADER_OR_FOLLOWER", count=3)``, ``.delay``, ``.drop``,
        ``.throttle``, ``.coordinator_loading``, ``.move_coordinator``, ``.disk_full``, ``.clear()``."""
        return self._running_server().state.faults  # type: ignore[no-any-return]

    @property
    def data_dir(self) -> Path:
        assert self.config is not None, "the broker is not started"
        return self.config.data_dir

    @property
    def node_ids(self) -> list[int]:
        """The node ids of this broker (1..N for a simulated cluster, else ``[node_id]``)."""
        return list(self._running_server().state.nodes.ids)

    def node_address(self, node_id: int) -> tuple[str, int]:
        """(host, port) node ``node_id`` advertises on the default listener (UnknownNode if none)."""
        node = self._running_server().state.nodes.get(node_id)
        return node.host, node.port

    # ---- node faults (thread-safe: each runs on the broker's loop and waits for it) --------------

    def stop_node(self, node_id: int) -> None:
        """Stop a node cleanly: its listeners close, its connections end, its leaderships move."""
        self._control("stop", node_id)

    def kill_node(self, node_id: int) -> None:
        """Stop a node uncleanly: connections cut at once, unreplicated data may be lost."""
        self._control("kill", node_id)

    def start_node(self, node_id: int) -> None:
        """Start a stopped node again: it listens on the same ports and catches up."""
        self._control("start", node_id)

    def pause_replication(self, node_id: int) -> None:
        """Stop the node's followers fetching (a lagging follower; it leaves the ISR after
        ``replica.lag.time.max.ms``). It still answers clients."""
        self._control("pause_replication", node_id)

    def resume_replication(self, node_id: int) -> None:
        self._control("resume_replication", node_id)

    def set_latency(self, node_id: int, latency_ms: int) -> None:
        """Delay every request node ``node_id`` answers by ``latency_ms`` (0: none)."""
        self._control("set_latency", node_id, latency_ms)

    def _control(self, action: str, node_id: int, *args: int) -> None:
        server = self._running_server()
        if self._async_mode:
            raise RuntimeError(
                f"this broker runs on an asyncio loop: use 'await broker.control_node_async({action!r}, ...)'"
            )
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(server.control_node(action, node_id, *args), self._loop)
        future.result(START_TIMEOUT_SECONDS)

    async def control_node_async(self, action: str, node_id: int, *args: int) -> None:
        """The node faults from the loop the broker runs on (``start_async``): ``action`` is
        stop, kill, start, pause_replication, resume_replication or set_latency."""
        await self._running_server().control_node(action, node_id, *args)

    def _running_server(self) -> Any:
        if self._server is None:
            raise RuntimeError("the broker is not running")
        return self._server

    # ---- shared set-up -------------------------------------------------------------------------

    def _make_server(self) -> Any:
        from kafkalite.server.app import KafkaliteServer

        if self._given_data_dir is not None:
            data_dir = self._given_data_dir
        else:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="kafkalite-")
            data_dir = Path(self._tmpdir.name)
        self.config = BrokerConfig(host=self._host, port=self._requested_port, data_dir=data_dir,
                                   **self._config_overrides)
        return KafkaliteServer(self.config, clock=self._clock, log_requests=self._log_requests,
                               metrics_port=self._metrics_port, fs=self._fs, control_port=self._control_port)

    def _cleanup(self) -> None:
        self._server = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    # ---- threaded ------------------------------------------------------------------------------

    def start(self) -> Broker:
        """Start on a background thread with its own loop; returns when clients can connect."""
        if self._server is not None:
            raise RuntimeError("the broker is already running")
        server = self._make_server()
        ready = threading.Event()
        failure: list[BaseException] = []

        async def run() -> None:
            self._loop = asyncio.get_running_loop()
            try:
                await server.start()
            except BaseException as exc:  # start() has closed what it opened
                failure.append(exc)
                ready.set()
                return
            ready.set()
            await server.wait_stopped()

        thread = threading.Thread(target=asyncio.run, args=(run(),), name="kafkalite-broker", daemon=True)
        thread.start()
        if not ready.wait(START_TIMEOUT_SECONDS):
            raise RuntimeError("the embedded broker did not start in time")
        if failure:
            thread.join()
            self._cleanup()
            raise failure[0]
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Shut down gracefully, release the port and join the thread. Idempotent."""
        if self._server is None:
            return
        if self._async_mode:
            raise RuntimeError("this broker runs on an asyncio loop: use 'await broker.stop_async()'")
        loop, thread, server = self._loop, self._thread, self._server
        assert loop is not None and thread is not None
        if thread.is_alive():
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(START_TIMEOUT_SECONDS)
        # asyncio.run then cancels leftovers, shuts the default executor down and closes the loop.
        thread.join(START_TIMEOUT_SECONDS)
        if thread.is_alive():
            raise RuntimeError("the embedded broker's thread did not finish")
        self._loop = self._thread = None
        self._cleanup()

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- on the caller's loop ------------------------------------------------------------------

    async def start_async(self) -> Broker:
        """Start on the running loop (the broker then shares it with the caller)."""
        if self._server is not None:
            raise RuntimeError("the broker is already running")
        server = self._make_server()
        try:
            await server.start()
        except BaseException:  # start() has closed what it opened
            self._cleanup()
            raise
        self._server, self._async_mode = server, True
        return self

    async def stop_async(self) -> None:
        if self._server is None:
            return
        if not self._async_mode:
            await asyncio.get_running_loop().run_in_executor(None, self.stop)
            return
        await self._server.stop()
        self._async_mode = False
        self._cleanup()

    async def __aenter__(self) -> Broker:
        return await self.start_async()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_async()

    def __repr__(self) -> str:
        where = self._server.bootstrap_servers if self._server is not None else "stopped"
        return f"<kafkalite.Broker {where}>"
