"""The fault control endpoint: HTTP with JSON bodies, so tests in any language can inject faults.

Routes (every answer is JSON; a bad request is 400 with ``{"error": "..."}`` naming the problem):

- ``GET /faults``: the request, coordinator and disk faults set, and the nodes;
  ``POST /faults`` ``{"api": "Produce", "action": "error", "error": "NOT_LEADER_OR_FOLLOWER", "count": 3}``
  (optional ``client_id``, ``node``, ``topic``, ``key``, ``delay_ms``, ``throttle_ms``): 201 with the fault;
  ``{"api": "Produce", "errors": ["NOT_LEADER_OR_FOLLOWER", "NONE", "REQUEST_TIMED_OUT"]}``: an error
  sequence, one request each (201 with ``{"sequence": [...]}``);
  ``DELETE /faults``: clear everything; ``DELETE /faults/<id>``: one fault.
- ``POST /coordinators`` ``{"action": "loading"|"not_coordinator"|"not_available"|"move", "group": "g"}``
  (or ``"transactional_id"``; ``count`` for errors, ``node`` for a move).
- ``POST /storage`` ``{"action": "full"|"io_errors", "node": 2}``; ``DELETE /storage`` (``?node=2``).
- ``GET /nodes``; ``POST /nodes/<id>/stop|start|kill|pause|resume``; ``POST /nodes/<id>/latency`` ``{"ms": 50}``.

Served on the metrics port when there is one (``--metrics-port``) and on ``--control-port``. It
has no authentication: it is for test and development brokers, so bind it where only tests reach.
Runs on the broker's loop, so what it changes is changed by the loop's owner; this module only
parses, validates and delegates to ``FaultRegistry``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from kafkalite.broker.faults import ACTIONS, FaultError
from kafkalite.http_endpoint import HTTP_READ_TIMEOUT, HttpEndpoint

if TYPE_CHECKING:
    from kafkalite.broker.faults import FaultRegistry

log = logging.getLogger(__name__)

MAX_HTTP_BODY = 64 * 1024
CONTROL_PREFIXES = ("/faults", "/nodes", "/coordinators", "/storage")
_FAULT_FIELDS = {"api", "action", "error", "errors", "count", "delay_ms", "throttle_ms", "client_id", "node", "topic",
                 "key", "group", "transactional_id", "label"}
_STATUS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           413: "Payload Too Large", 500: "Internal Server Error"}

Answer = tuple[int, dict[str, Any]]


def is_control_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in CONTROL_PREFIXES)


def _fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise FaultError(f"unknown field(s) {', '.join(unknown)}: expected some of {', '.join(sorted(allowed))}")


def _node_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FaultError(f"a node is a node id (an integer), got {text!r}") from None


class ControlAPI:
    """The routes, as a function of (method, path, query, JSON body) -> (status, JSON)."""

    def __init__(self, faults: FaultRegistry) -> None:
        self.faults = faults

    async def handle(self, method: str, target: str, raw: bytes) -> Answer:
        path, _, query_text = target.partition("?")
        path = path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(query_text).items()}
        try:
            body: Any = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            return 400, {"error": f"the body is not JSON: {exc}"}
        if not isinstance(body, dict):
            return 400, {"error": "the body must be a JSON object"}
        try:
            return await self._route(method, path, query, body)
        except FaultError as exc:
            return 400, {"error": str(exc)}

    async def _route(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> Answer:
        parts = path.strip("/").split("/")
        head = parts[0]
        faults = self.faults
        if head == "faults" and len(parts) == 1:
            if method == "GET":
                return 200, {"faults": faults.list(), "nodes": faults.nodes()}
            if method == "POST":
                return 201, self._add(body)
            if method == "DELETE":
                faults.clear()
                return 200, {"cleared": True}
            return 405, {"error": f"{method} /faults: use GET, POST or DELETE"}
        if head == "faults" and len(parts) == 2:
            if method != "DELETE":
                return 405, {"error": f"{method} {path}: use DELETE"}
            try:
                fault_id = int(parts[1])
            except ValueError:
                raise FaultError(f"a fault id is an integer, got {parts[1]!r}") from None
            if not faults.remove(fault_id):
                return 404, {"error": f"no fault {fault_id}"}
            return 200, {"removed": fault_id}
        if head == "coordinators" and len(parts) == 1:
            if method != "POST":
                return 405, {"error": f"{method} /coordinators: use POST"}
            return self._coordinators(body)
        if head == "storage" and len(parts) == 1:
            if method == "POST":
                _fields(body, {"action", "node", "count"})
                action = body.get("action")
                if action == "full":
                    return 201, {"fault": faults.disk_full(node=body.get("node"))}
                if action in ("io_errors", "eio"):
                    return 201, {"fault": faults.disk_errors(node=body.get("node"), count=body.get("count"))}
                raise FaultError(f"unknown storage action {action!r}: full or io_errors")
            if method == "DELETE":
                faults.clear_disk(node=_node_id(query["node"]) if "node" in query else None)
                return 200, {"cleared": True}
            return 405, {"error": f"{method} /storage: use POST or DELETE"}
        if head == "nodes":
            if len(parts) == 1 and method == "GET":
                return 200, {"nodes": faults.nodes()}
            if len(parts) == 3 and method == "POST":
                node = _node_id(parts[1])
                if parts[2] == "latency":
                    _fields(body, {"ms"})
                    faults.set_latency(node, body.get("ms", 0))
                else:
                    _fields(body, set())
                    await faults.node_action_async(node, parts[2])
                return 200, {"nodes": faults.nodes()}
            return 405, {"error": f"{method} {path}: GET /nodes or POST /nodes/<id>/<action>"}
        return 404, {"error": f"no route {path}: try /faults, /nodes, /coordinators or /storage"}

    def _add(self, body: dict[str, Any]) -> dict[str, Any]:
        _fields(body, _FAULT_FIELDS)
        if "api" not in body:
            raise FaultError("name the API (\"api\": \"Produce\", a name or key number, or a list)")
        if "errors" in body:  # an error sequence (librdkafka's error stack): one request each
            errors = body["errors"]
            if not isinstance(errors, list) or "error" in body or "action" in body:
                raise FaultError("\"errors\" is a list of error codes, without \"error\" or \"action\"")
            extra = {k: body[k] for k in ("client_id", "node", "topic", "count") if k in body}
            key = body.get("key", body.get("group", body.get("transactional_id")))
            faults = self.faults.fail_sequence(body["api"], errors, key=key, **extra)
            return {"sequence": [f.describe() for f in faults]}
        action = body.get("action", "error" if "error" in body else None)
        if action not in ACTIONS:
            raise FaultError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
        key = body.get("key", body.get("group", body.get("transactional_id")))
        fault = self.faults.add(
            body["api"], action, error=body.get("error"), count=body.get("count"),
            delay_ms=body.get("delay_ms", 0), throttle_ms=body.get("throttle_ms", 0),
            client_id=body.get("client_id"), node=body.get("node"), topic=body.get("topic"), key=key,
            label=str(body.get("label", "")),
        )
        return {"fault": fault.describe()}

    def _coordinators(self, body: dict[str, Any]) -> Answer:
        _fields(body, {"action", "error", "group", "transactional_id", "count", "node"})
        action = body.get("action")
        group, txn = body.get("group"), body.get("transactional_id")
        if action == "move":
            node = self.faults.move_coordinator(group=group, transactional_id=txn, node=body.get("node"))
            return 200, {"node": node}
        if action in ("loading", "not_coordinator", "not_available"):
            fault = self.faults.coordinator_error(action, group=group, transactional_id=txn, count=body.get("count"),
                                                  node=body.get("node"))
            return 201, {"fault": fault.describe()}
        if action == "error":
            fault = self.faults.coordinator_error(body.get("error", ""), group=group, transactional_id=txn,
                                                  count=body.get("count"), node=body.get("node"))
            return 201, {"fault": fault.describe()}
        raise FaultError(f"unknown coordinator action {action!r}: loading, not_coordinator, not_available, "
                         "error or move")


async def respond(api: ControlAPI, method: str, target: str, head: bytes, reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> None:
    """Read the body the head announces, answer it, and write the JSON response."""
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or b"0")
    if length > MAX_HTTP_BODY:
        status, answer = 413, {"error": f"body over {MAX_HTTP_BODY} bytes"}
    else:
        raw = await asyncio.wait_for(reader.readexactly(length), HTTP_READ_TIMEOUT) if length else b""
        try:
            status, answer = await api.handle(method, target, raw)
        except Exception as exc:  # a control call must not take the broker down
            log.exception("control request %s %s failed", method, target)
            status, answer = 500, {"error": f"internal error: {exc}"}
    data = json.dumps(answer).encode() + b"\n"
    writer.write(
        f"HTTP/1.1 {status} {_STATUS.get(status, '')}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode("latin-1") + data
    )
    await writer.drain()


class ControlServer:
    """The endpoint on a port of its own (``--control-port``), on the broker's loop."""

    def __init__(self, faults: FaultRegistry) -> None:
        self.api = ControlAPI(faults)
        self._endpoint = HttpEndpoint(self._answer, "fault control", "/faults")

    async def serve(self, host: str, port: int) -> int:
        return await self._endpoint.serve(host, port)

    async def close(self) -> None:
        await self._endpoint.close()

    async def _answer(self, method: str, target: str, head: bytes, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        await respond(self.api, method, target, head, reader, writer)
