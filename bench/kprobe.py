"""A minimal raw-socket Metadata probe, used to time broker startup precisely.

librdkafka's first metadata call on a fresh client often stalls ~50 ms in the
client itself (it drops the bootstrap connection once it learns the broker's
node id and then rate-limits reconnects), which would swamp startup times of a
few milliseconds. This probe sends ApiVersions v0, picks a Metadata version the
broker supports, sends it and checks that a matching response comes back.
"""

from __future__ import annotations

import socket
import struct

API_METADATA = 3
API_VERSIONS = 18
CLIENT_ID = b"kafkalite-bench"


class ProbeUnsupported(Exception):
    """The broker answered, but not in a way this probe understands."""


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return bytes(buf)


def _call(sock: socket.socket, api: int, version: int, corr: int, body: bytes, flexible: bool) -> bytes:
    """Send one request and return the response body (after correlation id)."""
    header = struct.pack(">hhih", api, version, corr, len(CLIENT_ID)) + CLIENT_ID
    if flexible:
        header += b"\x00"  # request header v2: empty tagged fields
    msg = header + body
    sock.sendall(struct.pack(">i", len(msg)) + msg)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    resp = _recv_exact(sock, size)
    if len(resp) < 4 or struct.unpack(">i", resp[:4])[0] != corr:
        raise ProbeUnsupported(f"bad correlation id in response to api {api} v{version}")
    return resp[4:]


def _metadata_request(version: int) -> tuple[bytes, bool]:
    """Encode a Metadata request for all topics; return (body, flexible)."""
    if 1 <= version <= 3:
        return struct.pack(">i", -1), False
    if 4 <= version <= 7:
        return struct.pack(">i", -1) + b"\x00", False  # + allow_auto_topic_creation
    if version == 8:
        return struct.pack(">i", -1) + b"\x00\x00\x00", False  # + authorized-ops flags
    if 9 <= version <= 10:
        return b"\x00" + b"\x00\x00\x00" + b"\x00", True  # null compact array, flags, tags
    return b"\x00" + b"\x00\x00" + b"\x00", True  # v11+: no cluster authorized-ops flag


def _pick_version(lo: int, hi: int) -> int:
    for preferred in (1, 4, 8, 9, 12):
        if lo <= preferred <= hi:
            return preferred
    if hi < 1:
        raise ProbeUnsupported(f"broker only supports Metadata v{lo}..v{hi}")
    return max(lo, 1)


def metadata_probe(host: str, port: int, timeout: float = 1.0) -> None:
    """Raise unless a Metadata request to ``host:port`` gets a response.

    Connection problems raise OSError; unexpected answers raise ProbeUnsupported.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _call(sock, API_VERSIONS, 0, 1, b"", flexible=False)
        if len(body) < 6:
            raise ProbeUnsupported("short ApiVersions response")
        error, count = struct.unpack_from(">hi", body, 0)
        if error:
            raise ProbeUnsupported(f"ApiVersions v0 error {error}")
        versions = {}
        for i in range(count):
            key, lo, hi = struct.unpack_from(">hhh", body, 6 + 6 * i)
            versions[key] = (lo, hi)
        if API_METADATA not in versions:
            raise ProbeUnsupported("broker does not advertise Metadata")
        version = _pick_version(*versions[API_METADATA])
        request, flexible = _metadata_request(version)
        if not _call(sock, API_METADATA, version, 2, request, flexible):
            raise ProbeUnsupported("empty Metadata response")


def brokers_listed(host: str, port: int, timeout: float = 1.0) -> int:
    """How many brokers a Metadata v1 answer from ``host:port`` lists (for the cluster rows).

    v1 because every broker here answers it (Apache Kafka 4 still does) and its broker array
    comes first in the body. Connection problems raise OSError.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _call(sock, API_METADATA, 1, 1, struct.pack(">i", 0), flexible=False)  # no topics
    if len(body) < 4:
        raise ProbeUnsupported("short Metadata v1 response")
    return int(struct.unpack_from(">i", body, 0)[0])
