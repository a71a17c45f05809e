"""The broker process: opens storage, listens, runs timers, and shuts down in order.

Shutdown order: stop accepting, release parked fetches, let each connection finish the
request it is processing, close the logs (fsync) and leave the clean-shutdown marker.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.dispatcher import Dispatcher
from kafkalite.broker.handlers.registry import Session
from kafkalite.broker.limits import broker_setting
from kafkalite.broker.nodes import Node, NodeEvent, node_port
from kafkalite.clock import Clock
from kafkalite.config import BrokerConfig
from kafkalite.errors import ErrorCode
from kafkalite.server.connection import BrokerConnection
from kafkalite.server.handshake_gc import FailedHandshakeCollector
from kafkalite.server.listeners import Listener
from kafkalite.server.memory_pool import RequestMemoryPool
from kafkalite.storage.fs import FileSystem

if TYPE_CHECKING:
    from kafkalite.control import ControlServer
    from kafkalite.metrics import BrokerMetrics
    from kafkalite.security.sasl import CredentialLookup
    from kafkalite.security.sasl_state import SaslListenerConfig

log = logging.getLogger(__name__)

TICK_SECONDS = 0.05
SHUTDOWN_GRACE_SECONDS = 5.0
#: Segment files not used between two sweeps this far apart are closed (storage/handles.py).
FILE_IDLE_SWEEP_SECONDS = 60.0



class StartupError(OSError):
    """The broker cannot start; the message names what failed (data dir or listener) and why.

    An OSError still, so embedding code that catches OSError (a busy port) keeps working.
    """

class KafkaliteServer:
    def __init__(
        self,
        config: BrokerConfig,
        clock: Clock | None = None,
        log_requests: bool = False,
        metrics_port: int | None = None,
        fs: FileSystem | None = None,
        control_port: int | None = None,
    ) -> None:
        self.config = config
        self.state = BrokerState(config, clock, fs)
        self.metrics: BrokerMetrics | None = None  # when --metrics-port is given; imported only then
        self.metrics_port = metrics_port
        if metrics_port is not None:
            from kafkalite.metrics import BrokerMetrics

            self.metrics = BrokerMetrics(self.state)
            # The endpoint is kafkalite's telemetry receiver: clients are told to push (KIP-714).
            self.state.telemetry.enable_receiver()
        self.dispatcher = Dispatcher(self.state, log_requests=log_requests, observer=self.metrics)
        #: The fault control endpoint on a port of its own (control.py); also on the metrics port.
        self.control_port = control_port
        self.control: ControlServer | None = None
        self.connections: set[BrokerConnection] = set()
        self.connections_accepted = 0
        queued_max = broker_setting(config, "queued.max.request.bytes")
        self.memory_pool = RequestMemoryPool(queued_max) if queued_max > 0 else None
        self.idle_ms = broker_setting(config, "connections.max.idle.ms")
        self._server: asyncio.base_events.Server | None = None  # the default (first) listener's
        self._servers: list[asyncio.base_events.Server] = []
        #: The listeners, first the default one; their ``port`` is the bound one once started.
        #: With several nodes these are node 1's (``node_listeners`` has every node's).
        self.listeners: list[Listener] = []
        #: Node id -> its copies of the listeners (one node: the same list as ``listeners``).
        self.node_listeners: dict[int, list[Listener]] = {}
        #: Node id -> its open listening servers (empty while the node is stopped).
        self._node_servers: dict[int, list[asyncio.base_events.Server]] = {}
        #: Node id -> the last listener change scheduled for it (closing or reopening), in order.
        self._node_changes: dict[int, asyncio.Task[None]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._stopping = False
        self._stopped = asyncio.Event()
        self._no_connections = asyncio.Event()
        #: Frees what failed TLS handshakes leave behind (server/handshake_gc.py).
        self.handshake_gc = FailedHandshakeCollector(self._tls_handshake_timeout() or 60.0)

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` of the default listener; with several nodes, every node's, comma-separated."""
        if self.state.nodes.multi:
            return ",".join(f"{n.host}:{n.port}" for n in self.state.nodes.all())
        host, port = self.config.advertised
        return f"{host}:{port}"

    @property
    def listener_addresses(self) -> dict[str, tuple[str, int]]:
        """Listener name -> advertised (host, port), with the bound ports once started."""
        return {listener.name: listener.advertised for listener in self.listeners}

    def _resolve_listeners(self) -> None:
        """Listeners and their TLS contexts; StartupError for an unserved protocol or a bad TLS setting."""
        from kafkalite.config import ConfigError
        from kafkalite.server.listeners import resolve_listeners

        try:
            self.listeners = resolve_listeners(self.config)
            for listener in self.listeners:
                if listener.protocol in ("SSL", "SASL_SSL"):
                    from kafkalite.server.tls import ReloadableContext, server_context

                    # Reloadable: a keystore changed through AlterConfigs serves the next connection.
                    listener.ssl_context = ReloadableContext(server_context(self.config, listener.name))
                if listener.protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
                    listener.sasl = self._sasl_config(listener)
        except ConfigError as exc:
            raise StartupError(f"invalid listener configuration: {exc}") from exc
        self.node_listeners = self._listeners_per_node()

    def _listeners_per_node(self) -> dict[int, list[Listener]]:
        """Every node's copy of each listener: ports consecutive from the configured ones (0 stays 0).

        TLS contexts and SASL tables are shared (one listener name, one setting); ports two
        nodes' listeners would share stop the start with a message saying what to change.
        """
        nodes = self.state.nodes
        if not nodes.multi:
            return {nodes.ids[0]: self.listeners}
        count = nodes.count
        per_node: dict[int, list[Listener]] = {}
        taken: dict[int, str] = {}
        for node_id in nodes.ids:
            copies = []
            for listener in self.listeners:
                if node_id == 1:  # node 1 binds the configured ports: the listeners themselves
                    copies.append(listener)
                    if listener.port:
                        taken[listener.port] = f"listener {listener.name} of node 1"
                    continue
                adv_port = listener.advertised_port
                copy = dataclasses.replace(
                    listener,
                    port=node_port(listener.port, node_id, count),
                    advertised_port=None if adv_port is None else node_port(adv_port, node_id, count),
                )
                if copy.port:
                    where = f"listener {copy.name} of node {node_id}"
                    if copy.port in taken:
                        raise StartupError(
                            f"{where} would bind port {copy.port}, which {taken[copy.port]} binds: with "
                            f"{count} brokers, listeners need ports at least {count} apart (or port 0)"
                        )
                    taken[copy.port] = where
                copies.append(copy)
            per_node[node_id] = copies
        return per_node

    def _sasl_config(self, listener: Listener) -> SaslListenerConfig:
        """The mechanisms of a SASL listener (security/mechanisms.py); ConfigError when they cannot be served."""
        from kafkalite.config import ConfigError
        from kafkalite.security.mechanisms import MechanismConfigError, build_listener_config
        from kafkalite.server.listeners import listener_lookup

        state = self.state

        def scram_lookup() -> CredentialLookup:
            store = getattr(state, "scram", None)  # BrokerState.scram: the scram branch's credential store
            if store is None:
                return lambda _user, _mechanism: None
            lookup: CredentialLookup = store.lookup
            return lookup

        try:
            config = build_listener_config(
                listener.name, listener_lookup(self.config, listener.name), state.clock.now_ms, scram_lookup
            )
        except MechanismConfigError as exc:
            raise ConfigError(str(exc)) from exc
        log.info("listener %s (%s): SASL mechanisms %s", listener.name, listener.protocol, ", ".join(config.mechanisms))
        return config

    async def start(self) -> None:
        self._resolve_listeners()  # before opening anything: a refused listener leaves no trace
        self.dispatcher.warm_up()
        try:
            self.state.open()
        except OSError as exc:  # the real cause (a full disk, too few file handles), not "cannot listen"
            raise StartupError(f"cannot open the data in {self.config.data_dir}: {exc}") from exc
        self.state.logs.start()  # log jobs (fsyncs, removals, checkpoints) run in a worker thread from here
        self._watch_listener_configs()
        # fault controls from other threads run on this loop; node faults through control_node
        self.state.faults.bind_loop(asyncio.get_running_loop(), self.control_node)
        where = f"{self.config.host}:{self.config.port}"
        try:
            for node_id, listeners in self.node_listeners.items():
                for listener in listeners:
                    where = f"{listener.host}:{listener.port}"
                    await self._listen(node_id, listener)
            self._server = self._servers[0]
            self.config.port = self.listeners[0].port
            self._node_bound()
            if self.metrics is not None and self.metrics_port is not None:
                self.metrics_port = await self.metrics.serve(self.config.host, self.metrics_port)
            if self.control_port is not None:
                from kafkalite.control import ControlServer

                self.control = ControlServer(self.state.faults)
                self.control_port = await self.control.serve(self.config.host, self.control_port)
        except BaseException as exc:
            for server in self._servers:
                server.close()
                with contextlib.suppress(Exception):
                    await server.wait_closed()
            self.state.logs.stop()
            self.state.close()
            if isinstance(exc, OSError):
                raise StartupError(f"cannot listen on {where}: {exc}") from exc
            raise
        self.state.nodes.watch(self._node_changed)
        if self.config.fsync == "interval":
            self._every("fsync", self.config.fsync_interval_ms / 1000, self.state.flush_dirty)
        # Coordinator timers (session timeouts, rebalance deadlines) are checked this often.
        self._every("coordinator", TICK_SECONDS, self.state.tick)
        # Log maintenance: retention deletes expired segments, the cleaner compacts.
        self._every("retention", self.config.retention_check_interval_ms / 1000, self.state.logs.retention_tick)
        if self.config.log_cleaner_enable:
            backoff = self.config
            self._every("cleaner", lambda: max(backoff.log_cleaner_backoff_ms, 10) / 1000, self.state.logs.cleaner_tick)
        if self.idle_ms > 0:
            self._every("idle", min(max(self.idle_ms / 4000, 0.01), 30.0), self._close_idle_connections)
        self._every("files", FILE_IDLE_SWEEP_SECONDS, self.state.file_handles.sweep_idle)
        if any(listener.ssl_context is not None for listener in self.listeners):
            self._every("tls-failures", 1.0, lambda: self.handshake_gc.tick(time.monotonic()))
        # Everything loaded so far (modules, schemas, codec classes) lives as long as the process:
        # move it out of the collector's sight so its full collections stay short (latency tails).
        gc.collect()
        gc.freeze()

    async def _listen(self, node_id: int, listener: Listener) -> None:
        """Open one listener of one node (its bound port recorded for port 0 and for a restart)."""
        loop = asyncio.get_running_loop()
        multi = self.state.nodes.multi
        default = listener is self.node_listeners[node_id][0]
        server = await loop.create_server(
            self._connection_factory(listener, default, node_id if multi else None),
            listener.host,
            listener.port,
            reuse_address=True,
            backlog=1024,
            ssl=listener.ssl_context,
            ssl_handshake_timeout=self._tls_handshake_timeout() if listener.ssl_context else None,
        )
        self._servers.append(server)
        self._node_servers.setdefault(node_id, []).append(server)
        if listener.port == 0:
            listener.port = server.sockets[0].getsockname()[1]
        for sock in server.sockets:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _node_bound(self) -> None:
        """Give each node its advertised addresses (the default listener's, and one per listener)."""
        for node_id, listeners in self.node_listeners.items():
            node = self.state.nodes.get(node_id)
            node.host, node.port = listeners[0].advertised
            node.endpoints = {listener.name: listener.advertised for listener in listeners}

    # ---- a simulated cluster's nodes going down and up ------------------------------------------

    def _node_changed(self, node: Node, event: NodeEvent) -> None:
        """Nodes.watch: close a stopped or killed node's listeners and connections; reopen on start."""
        if event in (NodeEvent.STOPPED, NodeEvent.KILLED):
            self._chain(node.node_id, self._close_node(node.node_id, abrupt=event is NodeEvent.KILLED))
        elif event is NodeEvent.STARTED:
            self._chain(node.node_id, self._open_node(node.node_id))

    def _chain(self, node_id: int, change: Coroutine[object, object, None]) -> None:
        """Run ``change`` after the node's previous one, so a quick stop-start ends listening."""
        previous = self._node_changes.get(node_id)

        async def run() -> None:
            if previous is not None:
                with contextlib.suppress(Exception):
                    await previous
            await change

        self._node_changes[node_id] = asyncio.get_running_loop().create_task(run())

    async def node_settled(self, node_id: int) -> None:
        """Wait until the node's listeners match its liveness (after Nodes.stop / start)."""
        task = self._node_changes.get(node_id)
        if task is not None:
            await task

    async def control_node(self, action: str, node_id: int, *args: int) -> None:
        """A node fault, on the loop (the embedded Broker's stop_node & co. call this thread-safely).

        ``action``: stop, kill, start, pause_replication, resume_replication or set_latency (ms);
        returns once the node's listeners follow (closed, or listening again). UnknownNode for an
        id that is not one of this cluster's.
        """
        self.state.nodes.apply(action, node_id, *args)
        await self.node_settled(node_id)

    async def _close_node(self, node_id: int, abrupt: bool) -> None:
        servers = self._node_servers.pop(node_id, [])
        for server in servers:
            await self._stop_accepting(server)
            self._servers.remove(server)
        multi = self.state.nodes.multi
        for conn in [c for c in self.connections
                     if not multi or (c.session is not None and c.session.node_id == node_id)]:
            if abrupt:
                conn.kill()
            else:
                conn.close_idle()
        for server in servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()

    async def _open_node(self, node_id: int) -> None:
        if self._stopping or node_id in self._node_servers:
            return
        try:
            for listener in self.node_listeners[node_id]:
                await self._listen(node_id, listener)
        except OSError as exc:
            log.error("node %d cannot listen again: %s", node_id, exc)
            raise

    def _watch_listener_configs(self) -> None:
        """SSL listeners follow their dynamic settings (``listener.name.<l>.ssl.*`` via AlterConfigs)."""
        from kafkalite.server.tls import ReloadableContext, listener_reloader

        for listener in self.listeners:
            if isinstance(listener.ssl_context, ReloadableContext):
                reloader = listener_reloader(self.config, listener.name, listener.ssl_context)
                self.state.configs.watch_listener(listener.name, reloader)

    def _tls_handshake_timeout(self) -> float | None:
        """Seconds a TLS handshake may take: connections.max.idle.ms, as Kafka's idle sweep bounds it.

        Kafka's selector closes a channel silent that long, handshaking or not; a connection
        joins kafkalite's own idle sweep only once its handshake is done, so asyncio's
        handshake timeout stands in for it. -1 (never idle-close): asyncio's default (60 s).
        """
        return self.idle_ms / 1000 if self.idle_ms > 0 else None

    def _connection_factory(
        self, listener: Listener, default: bool, node_id: int | None = None
    ) -> Callable[[], BrokerConnection]:
        """Connections of ``listener``: the default listener's carry no session (the config's address).

        ``node_id``: the simulated node the listener belongs to (several nodes); its connections
        all carry a session naming it, so handlers know which node was asked.
        """
        if default and listener.protocol == "PLAINTEXT" and node_id is None:
            return self._new_connection
        principal_of: Callable[[object], str] | None = None
        if listener.ssl_context is not None and listener.sasl is None:  # SASL_SSL: the SASL login names the principal
            from kafkalite.server.tls import PrincipalMapper, listener_setting
            from kafkalite.server.tls import principal_of as tls_principal

            rules = listener_setting(self.config, listener.name)("ssl.principal.mapping.rules") or "DEFAULT"
            mapper = PrincipalMapper(str(rules))

            def principal_of(ssl_object: object) -> str:
                return tls_principal(ssl_object, mapper)

        sasl = listener.sasl

        def new() -> BrokerConnection:
            session = Session(listener.name, listener.advertised, node_id=node_id)
            if sasl is not None:
                from kafkalite.security.sasl_state import SaslConnection

                session.sasl = SaslConnection(sasl)
            if listener.ssl_context is None:
                return self._new_connection(session)
            self.handshake_gc.accepted += 1
            # A TLS connection counts once its handshake is done: a failed handshake never calls the
            # protocol's connection_made nor connection_lost, so it must not be waited for at stop.
            return BrokerConnection(
                self.dispatcher,
                self.config.socket_request_max_bytes,
                self._connection_closed,
                self.memory_pool,
                session=session,
                on_open=self._tls_handshake_done,
                principal_of=principal_of,
            )

        return new

    def _new_connection(self, session: Session | None = None) -> BrokerConnection:
        conn = BrokerConnection(
            self.dispatcher, self.config.socket_request_max_bytes, self._connection_closed, self.memory_pool,
            session=session,
        )
        self._opened(conn)
        return conn

    def _tls_handshake_done(self, conn: BrokerConnection) -> None:
        self.handshake_gc.completed += 1
        self._opened(conn)

    def _opened(self, conn: BrokerConnection) -> None:
        self.connections.add(conn)
        self.connections_accepted += 1
        if self.metrics is not None:
            self.metrics.connection_opened()

    def _close_idle_connections(self) -> None:
        """Kafka's connections.max.idle.ms: close connections silent that long with nothing in processing."""
        deadline = time.monotonic() - self.idle_ms / 1000
        for conn in [c for c in self.connections if c.last_active < deadline and c.idle]:
            conn.close_idle()

    def _connection_closed(self, conn: BrokerConnection) -> None:
        """Forget a connection once its socket is gone *and* its request in processing is done.

        A client may hang up while its fetch is parked; ``stop`` must still wait for that fetch,
        or it would read logs that are already closed.
        """
        task = conn.task
        if task is None or task.done():
            self._forget(conn)
        else:
            task.add_done_callback(lambda _: self._forget(conn))

    def _forget(self, conn: BrokerConnection) -> None:
        if conn in self.connections and self.metrics is not None:
            self.metrics.connection_closed()
        self.state.telemetry.connection_closed(conn.peer)  # KIP-714 instances go with their connection
        self.connections.discard(conn)
        if self.state.closing and not self.connections:
            self._no_connections.set()

    def _every(self, name: str, seconds: float | Callable[[], float], action: Callable[[], object]) -> None:
        """Run ``action`` every ``seconds`` on the loop until stop (one live handle per name).

        ``seconds`` may be a callable, read before each wait, for periods that change at run time.
        """
        loop = asyncio.get_running_loop()

        def period() -> float:
            return seconds() if callable(seconds) else seconds

        def fire() -> None:
            action()
            self._timers[name] = loop.call_later(period(), fire)

        self._timers[name] = loop.call_later(period(), fire)

    @staticmethod
    async def _stop_accepting(server: asyncio.base_events.Server) -> None:
        """Close the listener without losing sockets accepted a moment ago.

        CPython 3.11's Server.close() makes the transports of connections accepted but not yet
        set up fail an assertion, and their sockets leak. So: stop reading the listening
        sockets, give pending accepts one loop turn to build their transports, then close.
        """
        loop = asyncio.get_running_loop()
        for sock in server.sockets:
            with contextlib.suppress(NotImplementedError):
                loop.remove_reader(sock.fileno())
        await asyncio.sleep(0)
        server.close()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        self.state.closing = True  # from here on, a connection that arrives is closed at once
        for change in list(self._node_changes.values()):
            with contextlib.suppress(Exception):
                await change
        for server in self._servers:
            await self._stop_accepting(server)
        if self.metrics is not None:
            await self.metrics.close()
        if self.control is not None:
            await self.control.close()
        self.state.faults.bind_loop(None)
        self.state.notifier.wake_all()
        self.state.groups.fail_waiting(ErrorCode.NOT_COORDINATOR)
        await asyncio.gather(*(conn.shutdown() for conn in list(self.connections)), return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        # A transport closes its socket one loop turn after close(): wait until all are gone,
        # so that a broker embedded in a longer-lived process leaks no file descriptors.
        if self.connections:
            try:
                await asyncio.wait_for(self._no_connections.wait(), SHUTDOWN_GRACE_SECONDS)
            except asyncio.TimeoutError:
                log.warning("%d connection(s) still open after shutdown", len(self.connections))
        for timer in self._timers.values():
            timer.cancel()
        await self.state.logs.drain()  # fsyncs, snapshots and removals already handed to the worker
        self.state.logs.stop()
        clean = False
        try:
            clean = self.state.close()
        finally:
            # Even when closing fails (the data directory removed under us), the broker has stopped:
            # a `serve` process must exit and a second SIGTERM must not wait forever.
            self._stopped.set()
        if clean:
            log.info("kafkalite stopped cleanly")
        else:
            log.warning("kafkalite stopped; storage was not flushed (see above), the next start recovers the logs")
