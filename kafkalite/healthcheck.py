"""A liveness probe that speaks Kafka: one ApiVersions v0 round trip, standard library only.

``python -m kafkalite.healthcheck [host:port]`` exits 0 when the broker answers with no error
and 1 otherwise (the Docker image's HEALTHCHECK). The address defaults to 127.0.0.1 and
``KAFKALITE_PORT`` (9092). Imports nothing from the broker, so it starts in milliseconds.
"""

from __future__ import annotations

import os
import socket
import struct
import sys

API_VERSIONS_KEY = 18
CORRELATION_ID = 0x6B6C  # "kl"
CLIENT_ID = b"kafkalite-healthcheck"


def api_versions_request() -> bytes:
    """A framed ApiVersions v0 request (header v1: key, version, correlation id, client id)."""
    body = struct.pack(">hhih", API_VERSIONS_KEY, 0, CORRELATION_ID, len(CLIENT_ID)) + CLIENT_ID
    return struct.pack(">i", len(body)) + body


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    chunks: list[bytes] = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def probe(host: str = "127.0.0.1", port: int = 9092, timeout: float = 3.0) -> None:
    """Raise if the broker at host:port does not answer ApiVersions v0 with error code 0."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(api_versions_request())
        (size,) = struct.unpack(">i", _read_exactly(sock, 4))
        if not 6 <= size <= 1 << 20:
            raise ValueError(f"implausible response size {size}")
        correlation_id, error_code = struct.unpack_from(">ih", _read_exactly(sock, size))
    if correlation_id != CORRELATION_ID:
        raise ValueError(f"correlation id {correlation_id} does not match the request's")
    if error_code != 0:
        raise ValueError(f"ApiVersions answered error code {error_code}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        host, _, port_text = args[0].rpartition(":")
        host, port = host or "127.0.0.1", int(port_text)
    else:
        host, port = "127.0.0.1", int(os.environ.get("KAFKALITE_PORT") or 9092)
    try:
        probe(host, port)
    except (OSError, ValueError) as exc:
        print(f"kafkalite at {host}:{port} is not healthy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
