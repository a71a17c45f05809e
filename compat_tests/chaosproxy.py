"""A TCP proxy that loses Produce responses, so clients retry batches the broker already wrote.

It forwards whole frames both ways and, for every ``drop_every``-th Produce response, closes
both sides instead of delivering it: the client cannot know the batch was written and sends
it again, which is exactly the case idempotent producers exist for. The broker must advertise
the proxy's port so that clients stay behind it.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

PRODUCE = 0


class ChaosProxy:
    def __init__(self, target_port: int, drop_every: int, listen_port: int = 0) -> None:
        self.target_port = target_port
        self.drop_every = drop_every
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", listen_port))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        self.produce_responses = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            pending: dict[int, int] = {}
            threading.Thread(target=self._requests, args=(client, upstream, pending), daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client, pending), daemon=True).start()

    @staticmethod
    def _frames(sock: socket.socket):  # type: ignore[no-untyped-def]
        buf = b""
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while len(buf) >= 4:
                (size,) = struct.unpack_from(">i", buf)
                if len(buf) < 4 + size:
                    break
                yield buf[: 4 + size]
                buf = buf[4 + size :]

    def _requests(self, client: socket.socket, upstream: socket.socket, pending: dict[int, int]) -> None:
        for frame in self._frames(client):
            api_key, _version, correlation = struct.unpack_from(">hhi", frame, 4)
            pending[correlation] = api_key
            try:
                upstream.sendall(frame)
            except OSError:
                break
        _close(client, upstream)

    def _responses(self, upstream: socket.socket, client: socket.socket, pending: dict[int, int]) -> None:
        for frame in self._frames(upstream):
            (correlation,) = struct.unpack_from(">i", frame, 4)
            if pending.pop(correlation, None) == PRODUCE:
                with self._lock:
                    self.produce_responses += 1
                    drop = self.produce_responses % self.drop_every == 0
                    self.dropped += drop
                if drop:
                    break
            try:
                client.sendall(frame)
            except OSError:
                break
        _close(client, upstream)

    def close(self) -> None:
        self._closed = True
        self.listener.close()


def _close(*socks: socket.socket) -> None:
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()
