"""SSL listeners with real clients: server certificates, client certificates, several listeners.

Certificates are made here with ``cryptography`` (a CA, the broker's localhost certificate, a
trusted and an untrusted client certificate), or by ``kafkalite serve --tls-self-signed``.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from compat_tests.brokerproc import BrokerProcess, free_port
from compat_tests.conftest import wait_for
from compat_tests.secure import CertAuthority, confluent_round_trip, pem, start_kafkalite

pytestmark = pytest.mark.timeout(120)


@dataclass
class Certs:
    ca: Path
    server: Path  # key + chain
    client_cert: Path
    client_key: Path
    rogue_cert: Path  # signed by an untrusted CA
    rogue_key: Path


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    d = tmp_path_factory.mktemp("certs")
    ca, rogue_ca = CertAuthority("test CA"), CertAuthority("rogue CA")
    client_key, client = ca.issue("client", "dev")
    rogue_key, rogue = rogue_ca.issue("rogue")
    files = {
        "ca.pem": ca.pem, "server.pem": ca.server_pem(),
        "client.pem": pem(client), "client.key": pem(client_key),
        "rogue.pem": pem(rogue), "rogue.key": pem(rogue_key),
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
    return Certs(d / "ca.pem", d / "server.pem", d / "client.pem", d / "client.key", d / "rogue.pem", d / "rogue.key")


def _ssl_broker(tmp_path: Path, certs: Certs, *extra: str) -> tuple[BrokerProcess, int]:
    settings = {"ssl.keystore.location": str(certs.server), "ssl.truststore.location": str(certs.ca)}
    settings.update(setting.split("=", 1) for setting in extra)
    proc, ports = start_kafkalite(tmp_path / "data", ["SSL"], settings)
    return proc, ports["SSL"]


def _stop(proc: BrokerProcess) -> None:
    assert proc.stop() == 0


def _two_free_ports() -> int:
    """A free port whose next one is free too (--tls-self-signed opens SSL on --port + 1)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise AssertionError("no two consecutive free ports")


def test_self_signed_serves_confluent_and_kafka_python(tmp_path: Path, topic_name: str) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    tls_dir = tmp_path / "tls"
    proc = BrokerProcess(tmp_path / "data", port=_two_free_ports(), extra_args=["--tls-self-signed", str(tls_dir)])
    proc.start()
    try:
        assert proc.proc is not None and proc.proc.stdout is not None
        printed = "".join(proc.proc.stdout.readline() for _ in range(5))
        ssl_address = f"127.0.0.1:{proc.port + 1}"
        assert f"ssl.ca.location={tls_dir.resolve() / 'ca.pem'}" in printed
        assert "ssl.truststore.type=PEM" in printed and "ssl_cafile=" in printed
        conf = {
            "bootstrap.servers": ssl_address, "security.protocol": "SSL",
            "ssl.ca.location": str(tls_dir / "ca.pem"),
        }
        values = confluent_round_trip(conf, topic_name, 50)
        assert values == [f"v{i}".encode() for i in range(50)]

        producer = KafkaProducer(
            bootstrap_servers=ssl_address, security_protocol="SSL", ssl_cafile=str(tls_dir / "ca.pem")
        )
        producer.send(topic_name, b"from kafka-python").get(timeout=20)
        producer.close()
        consumer = KafkaConsumer(
            bootstrap_servers=ssl_address, security_protocol="SSL", ssl_cafile=str(tls_dir / "ca.pem"),
            auto_offset_reset="earliest", consumer_timeout_ms=15000,
        )
        consumer.assign([__import__("kafka").TopicPartition(topic_name, 0)])
        got = [m.value for m in consumer]
        consumer.close()
        assert got[-1] == b"from kafka-python" and len(got) == 51

        if shutil.which("kcat"):
            out = subprocess.run(
                ["kcat", "-C", "-b", ssl_address, "-t", topic_name, "-o", "beginning", "-e", "-q",
                 "-X", "security.protocol=SSL", "-X", f"ssl.ca.location={tls_dir / 'ca.pem'}"],
                capture_output=True, text=True, timeout=30,
            )
            assert out.returncode == 0, out.stderr
            assert out.stdout.splitlines()[-1] == "from kafka-python"
    finally:
        _stop(proc)
    # A second start reuses the certificates.
    ca_before = (tls_dir / "ca.pem").read_bytes()
    proc = BrokerProcess(tmp_path / "data", port=_two_free_ports(), extra_args=["--tls-self-signed", str(tls_dir)])
    proc.start()
    _stop(proc)
    assert (tls_dir / "ca.pem").read_bytes() == ca_before


def test_metadata_advertises_the_listener_of_each_connection(tmp_path: Path, certs: Certs, topic_name: str) -> None:
    proc, ssl_port = _ssl_broker(tmp_path, certs)
    try:
        plain = AdminClient({"bootstrap.servers": proc.bootstrap}).list_topics(timeout=10)
        assert [(b.host, b.port) for b in plain.brokers.values()] == [("127.0.0.1", proc.port)]
        secure = AdminClient({
            "bootstrap.servers": f"localhost:{ssl_port}", "security.protocol": "SSL", "ssl.ca.location": str(certs.ca),
        }).list_topics(timeout=10)
        assert [(b.host, b.port) for b in secure.brokers.values()] == [("127.0.0.1", ssl_port)]
        # FindCoordinator too: a subscribed SSL consumer joins and commits through the SSL address.
        conf = {
            "bootstrap.servers": f"localhost:{ssl_port}", "security.protocol": "SSL", "ssl.ca.location": str(certs.ca),
        }
        producer = Producer(conf)
        producer.produce(topic_name, value=b"one")
        assert producer.flush(20) == 0
        consumer = Consumer({**conf, "group.id": f"g-{topic_name}", "auto.offset.reset": "earliest"})
        consumer.subscribe([topic_name])
        msg = wait_for(lambda: (m := consumer.poll(0.5)) is not None and m.error() is None and m, 30, what="a record")
        assert msg.value() == b"one"
        consumer.commit(asynchronous=False)
        [committed] = consumer.committed([TopicPartition(topic_name, 0)], timeout=10)
        assert committed.offset == 1
        consumer.close()
    finally:
        _stop(proc)


def _api_versions_frame() -> bytes:
    body = struct.pack(">hhih", 18, 0, 1, 4) + b"test"
    return struct.pack(">i", len(body)) + body


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(4096) == b""
    except (ConnectionResetError, ssl.SSLError):
        return True


def test_client_certificates_required(tmp_path: Path, certs: Certs, topic_name: str) -> None:
    proc, ssl_port = _ssl_broker(tmp_path, certs, "ssl.client.auth=required")
    base = {"bootstrap.servers": f"127.0.0.1:{ssl_port}", "security.protocol": "SSL", "ssl.ca.location": str(certs.ca)}
    try:
        with_cert = {
            **base, "ssl.certificate.location": str(certs.client_cert), "ssl.key.location": str(certs.client_key),
        }
        assert len(confluent_round_trip(with_cert, topic_name, 10)) == 10

        for cert, key in ((None, None), (certs.rogue_cert, certs.rogue_key)):
            ctx = ssl.create_default_context(cafile=str(certs.ca))
            if cert is not None:
                ctx.load_cert_chain(str(cert), str(key))
            with socket.create_connection(("127.0.0.1", ssl_port), timeout=10) as raw:
                try:
                    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                        tls.sendall(_api_versions_frame())  # TLS 1.3: the refusal arrives after the handshake
                        assert _closed(tls)
                except (ssl.SSLError, ConnectionResetError):
                    pass  # refused during the handshake
        producer = Producer({**base, "message.timeout.ms": 3000, "log_level": 0})
        errors: list[object] = []
        producer.produce(topic_name, value=b"x", on_delivery=lambda err, msg: errors.append(err))
        producer.flush(10)
        assert len(errors) == 1 and errors[0] is not None  # no certificate: never delivered
        # The broker still serves the trusted client.
        assert len(confluent_round_trip(with_cert, topic_name, 10, total=20)) == 20
    finally:
        _stop(proc)


def test_tls_garbage_costs_only_its_connection(tmp_path: Path, certs: Certs, topic_name: str) -> None:
    proc, ssl_port = _ssl_broker(tmp_path, certs)
    try:
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", ssl_port), timeout=10) as raw:
                raw.sendall(_api_versions_frame())  # plaintext Kafka bytes to the SSL port
                assert _closed(raw)
        conf = {
            "bootstrap.servers": f"127.0.0.1:{ssl_port}", "security.protocol": "SSL", "ssl.ca.location": str(certs.ca),
        }
        assert len(confluent_round_trip(conf, topic_name, 5)) == 5
        assert len(confluent_round_trip({"bootstrap.servers": proc.bootstrap}, topic_name, 5, total=10)) == 10
    finally:
        _stop(proc)


@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT"])
def test_sasl_listener_without_settings_stops_the_broker(tmp_path: Path, protocol: str) -> None:
    proc = BrokerProcess(tmp_path / "data", extra_args=[
        "--override", f"listeners=PLAINTEXT://127.0.0.1:0,{protocol}://127.0.0.1:{free_port()}",
    ])
    with pytest.raises(RuntimeError, match="did not start"):
        proc.start()
    wait_for(lambda: proc.proc is not None and proc.proc.poll() is not None, what="the broker exits")
    # SASL is served now (compat_tests/test_sasl.py); what stops it here: Kafka's default mechanism
    # list (GSSAPI only, not served), or for SASL_SSL first the missing keystore.
    expected = "ssl.keystore.location" if protocol == "SASL_SSL" else "enables only GSSAPI (Kerberos)"
    assert expected in proc.log_text()


def test_no_keystore_is_a_clear_error(tmp_path: Path) -> None:
    proc = BrokerProcess(tmp_path / "data", extra_args=["--override", f"listeners=SSL://127.0.0.1:{free_port()}"])
    with pytest.raises(RuntimeError, match="did not start"):
        proc.start()
    assert "ssl.keystore.location" in proc.log_text()


def test_confluent_without_ca_fails_verification(tmp_path: Path, certs: Certs) -> None:
    proc, ssl_port = _ssl_broker(tmp_path, certs)
    try:
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{ssl_port}", "security.protocol": "SSL"})
        with pytest.raises(KafkaException):
            admin.list_topics(timeout=3)
    finally:
        _stop(proc)


def test_principal_is_the_client_certificate_subject(tmp_path: Path, certs: Certs) -> None:
    """In process, to read the connection's session: ``User:`` + the subject DN (RFC 2253), or ANONYMOUS."""
    import asyncio

    from kafkalite.config import BrokerConfig
    from kafkalite.server.app import KafkaliteServer

    async def principals() -> list[str]:
        config = BrokerConfig.from_properties({
            "listeners": "SSL://127.0.0.1:0", "log.dirs": str(tmp_path / "data"),
            "ssl.keystore.location": str(certs.server), "ssl.truststore.location": str(certs.ca),
            "ssl.client.auth": "requested",
        })
        server = KafkaliteServer(config)
        await server.start()
        seen: list[str] = []
        try:
            for with_cert in (True, False):
                ctx = ssl.create_default_context(cafile=str(certs.ca))
                if with_cert:
                    ctx.load_cert_chain(str(certs.client_cert), str(certs.client_key))
                _, writer = await asyncio.open_connection(
                    "127.0.0.1", config.port, ssl=ctx, server_hostname="localhost"
                )
                conn = await asyncio.wait_for(_one_connection(server), 10)
                assert conn.session is not None and conn.session.listener == "SSL"
                seen.append(conn.session.principal)
                writer.close()
                await wait_closed(server)
        finally:
            await server.stop()
        return seen

    async def _one_connection(server: KafkaliteServer):  # type: ignore[no-untyped-def]
        while not server.connections:
            await asyncio.sleep(0.01)
        return next(iter(server.connections))

    async def wait_closed(server: KafkaliteServer) -> None:
        while server.connections:
            await asyncio.sleep(0.01)

    assert asyncio.run(principals()) == ["User:CN=client,OU=dev", "User:ANONYMOUS"]
