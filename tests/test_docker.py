"""The Dockerfile cannot be built here (no Docker engine), so check what can be checked without
one: the settings it relies on exist, it runs unprivileged, and its health probe works."""

from __future__ import annotations

import fnmatch
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kafkalite import Broker
from kafkalite.cli import serve
from kafkalite.healthcheck import api_versions_request, main, probe

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    """Arguments of every ``name`` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.split(None, 1)[:1] == [name]]


def test_base_user_port_volume() -> None:
    assert instructions("FROM") == ["python:3.12-slim"]
    (user,) = instructions("USER")
    assert user not in ("root", "0")
    assert instructions("EXPOSE") == ["9092-9094"]  # nodes 1..3 of KAFKALITE_BROKERS=3
    (volume,) = instructions("VOLUME")
    assert "/var/lib/kafkalite" in volume


def test_environment_matches_serve_options() -> None:
    env = dict(re.findall(r"(KAFKALITE_\w+)=(\S+)", " ".join(instructions("ENV"))))
    known = {p.envvar for p in serve.params if p.envvar}
    assert set(env) <= known, set(env) - known  # no misspelt variable silently ignored
    assert env["KAFKALITE_HOST"] == "0.0.0.0"
    assert env["KAFKALITE_ADVERTISED_HOST"] == "localhost"
    assert env["KAFKALITE_DATA_DIR"] in " ".join(instructions("VOLUME"))
    assert env["KAFKALITE_BROKERS"] == "1"


def test_cluster_ports_are_exposed() -> None:
    """KAFKALITE_BROKERS=3 puts nodes on KAFKALITE_PORT + 0..2: every one of them is exposed."""
    env = dict(re.findall(r"(KAFKALITE_\w+)=(\S+)", " ".join(instructions("ENV"))))
    (exposed,) = instructions("EXPOSE")
    first, _, last = exposed.partition("-")
    base = int(env["KAFKALITE_PORT"])
    assert (int(first), int(last)) == (base, base + 2)


def test_healthcheck_and_command() -> None:
    (healthcheck,) = instructions("HEALTHCHECK")
    assert '"-m", "kafkalite.healthcheck"' in healthcheck
    assert instructions("ENTRYPOINT") == ['["kafkalite"]'] and instructions("CMD") == ['["serve"]']


def test_dockerignore_keeps_what_the_image_copies() -> None:
    patterns = [p for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    copied = [src for line in instructions("COPY") for src in line.split()[:-1]]
    assert set(copied) == {"pyproject.toml", "README.md", "kafkalite"}
    for path in copied:
        assert not any(fnmatch.fnmatch(path, p) for p in patterns), path


def test_healthcheck_probe_against_a_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    with Broker() as broker:
        probe("127.0.0.1", broker.port)
        assert main([f"127.0.0.1:{broker.port}"]) == 0
        monkeypatch.setenv("KAFKALITE_PORT", str(broker.port))
        assert main([]) == 0
        done = subprocess.run([sys.executable, "-m", "kafkalite.healthcheck"], timeout=30)
        assert done.returncode == 0


def test_healthcheck_fails_without_a_broker() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        assert main([f"127.0.0.1:{port}"]) == 1


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (b"\x00\x00\x00\x06\x00\x00\x00\x01\x00\x00", "correlation id"),  # someone else's answer
        (b"\x00\x00\x00\x06\x00\x00\x6b\x6c\x00\x23", "error code 35"),  # UNSUPPORTED_VERSION
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "implausible response size"),  # not Kafka at all
    ],
)
def test_healthcheck_rejects_a_bad_answer(reply: bytes, problem: str) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                assert conn.recv(1024) == api_versions_request()
                conn.sendall(reply)

        responder = threading.Thread(target=answer)
        responder.start()
        try:
            with pytest.raises(ValueError, match=problem):
                probe("127.0.0.1", port)
        finally:
            responder.join(10)
