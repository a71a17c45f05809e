"""What the tool commands share: the ``-b``/``-X`` options, client construction, waiting on
admin futures with readable errors, timestamps, and table or JSON output through rich."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timezone
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

DEFAULT_BOOTSTRAP = "localhost:9092"
TIMEOUT_SECONDS = 30.0


def bootstrap_option(func: F) -> F:
    """``-b/--bootstrap-server`` (env ``KAFKALITE_BOOTSTRAP``) and ``-X key=value`` client settings."""
    func = click.option(
        "-X",
        "--client-config",
        "client_config",
        multiple=True,
        metavar="KEY=VALUE",
        help="Extra librdkafka client setting, repeatable (e.g. -X security.protocol=SSL).",
    )(func)
    return click.option(
        "-b",
        "--bootstrap-server",
        "bootstrap",
        envvar="KAFKALITE_BOOTSTRAP",
        default=DEFAULT_BOOTSTRAP,
        show_default=True,
        help="Broker(s) to connect to, host:port[,host:port] (env KAFKALITE_BOOTSTRAP).",
    )(func)


def output_option(func: F) -> F:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="A table for people or JSON for scripts.",
    )(func)


def parse_pairs(pairs: Iterable[str], what: str) -> dict[str, str]:
    """``["a=1", "b=2"]`` -> ``{"a": "1", "b": "2"}``; a pair without ``=`` is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint=what)
        out[key] = value
    return out


def client_settings(bootstrap: str, client_config: Sequence[str], **defaults: Any) -> dict[str, Any]:
    # log_level 4: librdkafka's warnings and errors only (-X log_level=7 for debugging).
    settings: dict[str, Any] = {"bootstrap.servers": bootstrap, "client.id": "kafkalite-cli", "log_level": 4}
    settings.update(defaults)
    settings.update(parse_pairs(client_config, "-X"))
    return settings


def admin_client(bootstrap: str, client_config: Sequence[str]) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient(client_settings(bootstrap, client_config))


def fail(message: str) -> click.ClickException:
    return click.ClickException(message)


def error_text(exc: BaseException) -> str:
    """The KafkaError's own words when there is one (``UNKNOWN_TOPIC_OR_PART: ...``)."""
    from confluent_kafka import KafkaException

    if isinstance(exc, KafkaException) and exc.args:
        err = exc.args[0]
        if hasattr(err, "name") and hasattr(err, "str"):
            return f"{err.name()}: {err.str()}"
    return str(exc) or type(exc).__name__


def result(future: Future[T], what: str, timeout: float = TIMEOUT_SECONDS) -> T:
    """Wait for one admin future; a failure becomes a one-line error naming ``what``."""
    try:
        return future.result(timeout)
    except FutureTimeout as exc:  # not the builtin TimeoutError before Python 3.11
        raise fail(f"{what}: no answer within {timeout:.0f} s") from exc
    except Exception as exc:
        raise fail(f"{what}: {error_text(exc)}") from exc


def results(futures: Mapping[Any, Future[T]], what: Callable[[Any], str]) -> dict[Any, T]:
    """Wait for every future; report all failures together, then exit non-zero if there were any."""
    done: dict[Any, T] = {}
    problems: list[str] = []
    for key, future in futures.items():
        try:
            done[key] = result(future, what(key))
        except click.ClickException as exc:
            problems.append(exc.message)
    if problems:
        raise fail("\n".join(problems))
    return done


def parse_timestamp(text: str) -> int:
    """Milliseconds since the epoch, given as such or as an ISO 8601 date-time (UTC if no zone)."""
    try:
        return int(text)
    except ValueError:
        pass
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is neither epoch milliseconds nor an ISO 8601 date-time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def stdout_console() -> Any:
    """A console for tables: when stdout is a pipe, wide enough that rows never wrap."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=1000, no_color=True, highlight=False)
    return console


def cell(value: Any) -> str:
    return "-" if value is None else str(value)


def emit(rows: list[dict[str, Any]], columns: Sequence[str], output: str, title: str | None = None) -> None:
    """Print ``rows`` as a table with ``columns`` (kafka tools' upper-case headers) or as JSON."""
    if output == "json":
        click.echo(json.dumps(rows, indent=2, sort_keys=False))
        return
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE, title_justify="left", pad_edge=False)
    for column in columns:
        numeric = bool(rows) and all(isinstance(r.get(column), int) or r.get(column) is None for r in rows)
        table.add_column(column.upper().replace("_", "-"), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(cell(row.get(column)) for column in columns))
    stdout_console().print(table)


def note(message: str) -> None:
    """A remark for the person at the terminal (stderr, so stdout stays parseable)."""
    click.echo(message, err=True)


def uuid_text(most: int, least: int) -> str:
    """A Kafka Uuid as Kafka prints it (``Uuid.toString``): URL-safe base64 of its 16 bytes, no padding.

    confluent-kafka's ``str(Uuid)`` uses standard base64 (``+`` and ``/``), so the same topic would
    read differently here and in ``kafka-topics.sh``; the tools render from the two halves instead.
    """
    raw = (most & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big") + (least & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
