"""``kafkalite faults ...``: inject faults into a running broker through its control endpoint.

Talks HTTP+JSON to ``--control-port`` (or the ``--metrics-port``) of ``kafkalite serve``
(kafkalite/control.py); ``--url`` / ``KAFKALITE_CONTROL_URL`` says where. Every command prints the
endpoint's JSON answer; a refused request (an unknown API, error code or node) prints the
endpoint's message and exits with status 2, an unreachable endpoint with status 1.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import click

TIMEOUT_SECONDS = 30.0


def call(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One control request; the decoded answer, or a click exit naming the problem."""
    data = None if body is None else json.dumps({k: v for k, v in body.items() if v is not None}).encode()
    request = urllib.request.Request(url.rstrip("/") + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            message = exc.reason
        click.echo(f"error: {message}", err=True)
        raise SystemExit(2) from None
    except (urllib.error.URLError, OSError) as exc:
        raise click.ClickException(f"cannot reach the control endpoint at {url}: {exc}") from None


def _show(answer: Any) -> None:
    click.echo(json.dumps(answer, indent=2))


def _match(func: Any) -> Any:
    """The request-matching options every request fault takes."""
    for option in (
        click.option("--count", type=int, default=None, help="Affect the next N matching requests (default: all, "
                                                             "until cleared)."),
        click.option("--client-id", default=None, help="Only requests from this client id."),
        click.option("--node", type=int, default=None, help="Only requests sent to this node id."),
        click.option("--topic", default=None, help="Only requests naming this topic."),
        click.option("--key", default=None, help="Only requests naming this group or transactional id."),
    ):
        func = option(func)
    return func


@click.group()
@click.option("--url", envvar="KAFKALITE_CONTROL_URL", required=True,
              help="The broker's control endpoint: http://HOST:PORT of --control-port or --metrics-port "
                   "(env KAFKALITE_CONTROL_URL).")
@click.pass_context
def faults(ctx: click.Context, url: str) -> None:
    """Inject faults into a running kafkalite: errors, delays, drops, throttling, coordinators, disks, nodes."""
    ctx.obj = url


@faults.command("list")
@click.pass_obj
def list_(url: str) -> None:
    """The faults set and the nodes."""
    _show(call(url, "GET", "/faults"))


@faults.command()
@click.argument("api")
@click.argument("error")
@click.option("--delay-ms", type=int, default=0, help="Answer the error this much later.")
@_match
@click.pass_obj
def fail(url: str, api: str, error: str, delay_ms: int, **match: Any) -> None:
    """Answer requests of API (a name or key) with ERROR (a Kafka name or number).

    ERROR may be a comma-separated sequence (NOT_LEADER_OR_FOLLOWER,NONE,REQUEST_TIMED_OUT): the next
    requests get one each, in order, as librdkafka's mock error stacks.
    """
    if "," in error:
        errors = [e.strip() for e in error.split(",")]
        _show(call(url, "POST", "/faults", {"api": api, "errors": errors, **match}))
        return
    _show(call(url, "POST", "/faults", {"api": api, "action": "error", "error": error, "delay_ms": delay_ms, **match}))


@faults.command()
@click.argument("api")
@click.argument("delay_ms", type=int)
@_match
@click.pass_obj
def delay(url: str, api: str, delay_ms: int, **match: Any) -> None:
    """Handle requests of API normally, DELAY_MS later."""
    _show(call(url, "POST", "/faults", {"api": api, "action": "delay", "delay_ms": delay_ms, **match}))


@faults.command()
@click.argument("api")
@_match
@click.pass_obj
def drop(url: str, api: str, **match: Any) -> None:
    """Close the connection of requests of API without answering."""
    _show(call(url, "POST", "/faults", {"api": api, "action": "drop", **match}))


@faults.command()
@click.argument("api")
@click.argument("throttle_ms", type=int)
@_match
@click.pass_obj
def throttle(url: str, api: str, throttle_ms: int, **match: Any) -> None:
    """Answer requests of API with throttle_time_ms THROTTLE_MS and mute the connection that long."""
    _show(call(url, "POST", "/faults", {"api": api, "action": "throttle", "throttle_ms": throttle_ms, **match}))


@faults.command()
@click.argument("fault_id", type=int, required=False)
@click.pass_obj
def clear(url: str, fault_id: int | None) -> None:
    """Remove one fault by id, or every fault (request, coordinator, disk, node latency)."""
    _show(call(url, "DELETE", "/faults" if fault_id is None else f"/faults/{fault_id}"))


@faults.command()
@click.argument("action", type=click.Choice(["loading", "not-coordinator", "not-available", "move"]))
@click.option("--group", default=None, help="The group id.")
@click.option("--transactional-id", default=None, help="The transactional id.")
@click.option("--count", type=int, default=None, help="Errors: the next N coordinator requests (default: all).")
@click.option("--node", type=int, default=None, help="move: the node to move it to (default: another live one).")
@click.pass_obj
def coordinator(url: str, action: str, group: str | None, transactional_id: str | None, count: int | None,
                node: int | None) -> None:
    """Coordinator faults for a group or transactional id: loading, not-coordinator, not-available, move."""
    _show(call(url, "POST", "/coordinators", {"action": action.replace("-", "_"), "group": group,
                                               "transactional_id": transactional_id, "count": count, "node": node}))


@faults.command()
@click.argument("action", type=click.Choice(["full", "io-errors", "clear"]))
@click.option("--node", type=int, default=None, help="Only this node's log dir (default: the whole data dir).")
@click.option("--count", type=int, default=None, help="io-errors: the next N writes and syncs (default: all).")
@click.pass_obj
def disk(url: str, action: str, node: int | None, count: int | None) -> None:
    """Storage faults: a full disk, I/O errors, or clear them."""
    if action == "clear":
        _show(call(url, "DELETE", "/storage" if node is None else f"/storage?node={node}"))
        return
    _show(call(url, "POST", "/storage", {"action": action.replace("-", "_"), "node": node, "count": count}))


@faults.command()
@click.argument("node_id", type=int)
@click.argument("action", type=click.Choice(["stop", "start", "kill", "pause", "resume", "latency"]))
@click.argument("latency_ms", type=int, required=False)
@click.pass_obj
def node(url: str, node_id: int, action: str, latency_ms: int | None) -> None:
    """Node faults: stop, start, kill, pause / resume replication, or `latency MS`."""
    if action == "latency":
        if latency_ms is None:
            raise click.UsageError("latency needs the delay in ms, e.g. `kafkalite faults node 2 latency 100`")
        _show(call(url, "POST", f"/nodes/{node_id}/latency", {"ms": latency_ms}))
        return
    _show(call(url, "POST", f"/nodes/{node_id}/{action}", {}))
