"""``kafkalite produce``: one record per input line, like kafka-console-producer and ``kcat -P``."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import IO, Any

import click

from kafkalite.tools.common import bootstrap_option, client_settings, error_text, fail, note, parse_pairs

COMPRESSION = ("none", "gzip", "snappy", "lz4", "zstd")
FLUSH_TIMEOUT_SECONDS = 60.0


def _lines(stream: IO[bytes], progress: Any = None, task: Any = None) -> Iterator[bytes]:
    """Lines without their line ending (``\\n`` or ``\\r\\n``); advances the progress bar by bytes read."""
    for raw in stream:
        if progress is not None:
            progress.advance(task, len(raw))
        if raw.endswith(b"\n"):
            raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
        yield raw


@click.command()
@bootstrap_option
@click.argument("topic")
@click.option(
    "-f", "--file", "path", type=click.Path(exists=True, dir_okay=False), help="Read lines from a file, not stdin."
)
@click.option("-K", "--key-separator", default=None, help="Split each line into key and value at the first SEP.")
@click.option("-H", "--header", "headers", multiple=True, metavar="KEY=VALUE", help="Header on every record.")
@click.option("-z", "--compression", type=click.Choice(COMPRESSION), default="none", show_default=True)
@click.option("-p", "--partition", type=int, default=None, help="Write to this partition (default: by key).")
@click.option("--acks", type=click.Choice(["0", "1", "all"]), default="all", show_default=True)
@click.option("--linger-ms", type=int, default=5, show_default=True, help="Batching delay.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on for --file on a terminal).")
def produce(
    bootstrap: str,
    client_config: tuple[str, ...],
    topic: str,
    path: str | None,
    key_separator: str | None,
    headers: tuple[str, ...],
    compression: str,
    partition: int | None,
    acks: str,
    linger_ms: int,
    progress: bool | None,
) -> None:
    """Produce each line of stdin (or --file) as one record to TOPIC."""
    from confluent_kafka import KafkaException, Producer

    header_list = [(k, v.encode()) for k, v in parse_pairs(headers, "--header").items()] or None
    separator = key_separator.encode() if key_separator is not None else None
    settings = client_settings(
        bootstrap,
        client_config,
        **{"compression.type": compression, "acks": acks, "linger.ms": linger_ms, "enable.idempotence": acks == "all"},
    )
    try:
        producer = Producer(settings)
    except KafkaException as exc:
        raise fail(f"cannot create a producer: {error_text(exc)}") from exc

    failures: list[str] = []
    delivered = 0

    def on_delivery(err: Any, msg: Any) -> None:
        nonlocal delivered
        if err is not None:
            failures.append(err.str())
        else:
            delivered += 1

    extra: dict[str, Any] = {"on_delivery": on_delivery}
    if partition is not None:
        extra["partition"] = partition
    if header_list:
        extra["headers"] = header_list

    show_progress = progress if progress is not None else (path is not None and sys.stderr.isatty())
    stream: IO[bytes] = open(path, "rb") if path else sys.stdin.buffer  # noqa: SIM115 - closed below
    bar: Any = None
    bad_line: str | None = None
    try:
        if show_progress:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

            from kafkalite.tools.common import stderr_console

            total = os.path.getsize(path) if path else None
            bar = Progress(
                TextColumn(f"producing to {topic}"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=stderr_console(),
            )
            bar.start()
            lines = _lines(stream, bar, bar.add_task("produce", total=total))
        else:
            lines = _lines(stream)
        for number, line in enumerate(lines, 1):
            key: bytes | None = None
            value = line
            if separator is not None:
                key, found, value = line.partition(separator)
                if not found:
                    bad_line = f"line {number}: no key separator {key_separator!r} found"
                    break
            _send(producer, topic, key, value, extra)
            if failures:
                break
        remaining = producer.flush(FLUSH_TIMEOUT_SECONDS)
    except KeyboardInterrupt:
        remaining = producer.flush(FLUSH_TIMEOUT_SECONDS)
        note("interrupted")
    finally:
        if bar is not None:
            bar.stop()
        if path:
            stream.close()
    if bad_line is not None:
        raise fail(f"{bad_line} (the {delivered} record(s) before it were produced)")
    if failures:
        raise fail(f"{len(failures)} record(s) failed: {failures[0]}")
    if remaining:
        raise fail(f"{remaining} record(s) still undelivered after {FLUSH_TIMEOUT_SECONDS:.0f} s")
    note(f"Produced {delivered} record(s) to {topic}.")


def _send(producer: Any, topic: str, key: bytes | None, value: bytes, extra: dict[str, Any]) -> None:
    while True:
        try:
            producer.produce(topic, value, key, **extra)
            break
        except BufferError:  # local queue full: let deliveries drain, then try again
            producer.poll(0.1)
    producer.poll(0)
