"""A minimal synchronous Kafka client for protocol-level checks: one request, one response.

Requests and responses use kafka-python's schema classes, so the bytes are what real clients
send; the test decides the exact version and fields, which high-level clients hide.
"""

from __future__ import annotations

import socket
import struct
from typing import Any


class RawClient:
    def __init__(self, bootstrap: str, client_id: str = "raw-client") -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.client_id = client_id
        self.correlation = 0

    def call(self, request: Any, response_class: Any) -> Any:
        self.correlation += 1
        request.with_header(correlation_id=self.correlation, client_id=self.client_id)
        self.sock.sendall(bytes(request.encode(header=True, framed=True)))
        (size,) = struct.unpack(">i", self._read(4))
        data = self._read(size)
        response = response_class.decode(data, version=request.API_VERSION, header=True)
        assert response.header.correlation_id == self.correlation
        return response

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf += chunk
        return buf

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
