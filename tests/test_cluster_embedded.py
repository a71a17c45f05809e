"""The embedded Broker as a simulated cluster: listeners per node, node faults, start errors."""

from __future__ import annotations

import asyncio
import socket
import struct
from pathlib import Path

import pytest
from kafka.protocol.metadata import MetadataRequest, MetadataResponse

from kafkalite import Broker
from kafkalite.server.app import StartupError


def brokers_seen(host: str, port: int) -> list[tuple[int, int]]:
    """(node id, port) of each broker a Metadata request to host:port lists."""
    request = MetadataRequest(version=12, topics=None, allow_auto_topic_creation=False)
    request.with_header(correlation_id=1, client_id="t")
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(bytes(request.encode(header=True, framed=True)))
        size = struct.unpack(">i", sock.recv(4, socket.MSG_WAITALL))[0]
        data = sock.recv(size, socket.MSG_WAITALL)
    response = MetadataResponse.decode(data, version=12, header=True)
    return sorted((b.node_id, b.port) for b in response.brokers)


def refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_every_listener_is_opened_once_per_node(tmp_path: Path) -> None:
    config = {
        "listeners": "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT",
    }
    with Broker(brokers=3, data_dir=tmp_path / "data", static_configs=config) as cluster:
        server = cluster._server
        internal = {n: listeners[1].port for n, listeners in server.node_listeners.items()}
        plain = {n: listeners[0].port for n, listeners in server.node_listeners.items()}
        assert len(set(internal.values()) | set(plain.values())) == 6
        # Asked on node 2's INTERNAL listener: every node at its INTERNAL address.
        assert brokers_seen("127.0.0.1", internal[2]) == sorted(internal.items())
        assert brokers_seen("127.0.0.1", plain[3]) == sorted(plain.items())
        cluster.stop_node(2)
        assert refused("127.0.0.1", internal[2]) and refused("127.0.0.1", plain[2])
        assert brokers_seen("127.0.0.1", internal[1]) == sorted((n, p) for n, p in internal.items() if n != 2)
        cluster.start_node(2)
        assert brokers_seen("127.0.0.1", internal[2]) == sorted(internal.items())


def test_ports_two_nodes_would_share_stop_the_start(tmp_path: Path) -> None:
    config = {
        "listeners": "PLAINTEXT://127.0.0.1:29092,INTERNAL://127.0.0.1:29093",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT",
    }
    broker = Broker(brokers=3, port=29092, data_dir=tmp_path / "data", static_configs=config)
    with pytest.raises(StartupError, match="listener PLAINTEXT of node 2 would bind port 29093, which listener "
                                           "INTERNAL of node 1 binds: with 3 brokers, listeners need ports at "
                                           "least 3 apart"):
        broker.start()
    assert not broker.running


def test_quick_stop_start_ends_listening_and_repeats(tmp_path: Path) -> None:
    with Broker(brokers=2, data_dir=tmp_path / "data") as cluster:
        host, port = cluster.node_address(2)
        for _ in range(3):
            cluster.kill_node(2)
            cluster.start_node(2)
            cluster.stop_node(2)
            assert refused(host, port)
            cluster.start_node(2)
            assert brokers_seen(host, port) == [(1, cluster.node_address(1)[1]), (2, port)]
        cluster.start_node(2)  # already up: nothing changes
        assert not refused(host, port)


def test_node_faults_on_the_callers_loop(tmp_path: Path) -> None:
    async def scenario() -> None:
        cluster = await Broker(brokers=3, data_dir=tmp_path / "data").start_async()
        try:
            host, port = cluster.node_address(3)
            with pytest.raises(RuntimeError, match="control_node_async"):
                cluster.stop_node(3)
            await cluster.control_node_async("stop", 3)
            assert await asyncio.to_thread(refused, host, port)
            await cluster.control_node_async("start", 3)
            assert not await asyncio.to_thread(refused, host, port)
        finally:
            await cluster.stop_async()

    asyncio.run(scenario())


def test_a_single_broker_has_one_node(tmp_path: Path) -> None:
    with Broker(data_dir=tmp_path / "data") as broker:
        assert broker.node_ids == [1]
        assert broker.bootstrap_servers == f"127.0.0.1:{broker.port}"
        assert broker.node_address(1) == ("127.0.0.1", broker.port)
