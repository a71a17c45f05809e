"""``kafkalite consume``: print records, like kafka-console-consumer and ``kcat -C``.

Without ``--group`` it assigns the partitions itself and commits nothing; with one it joins the
group (subscribe) and commits what it printed.
"""

from __future__ import annotations

import os
import string
import sys
import uuid
from typing import Any

import click

from kafkalite.tools.common import (
    TIMEOUT_SECONDS,
    bootstrap_option,
    client_settings,
    error_text,
    fail,
    note,
    parse_timestamp,
)

FIELDS = ("topic", "partition", "offset", "timestamp", "key", "value", "headers")
ESCAPES = {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\\\": "\\"}


def _text(data: bytes | None) -> str:
    return "null" if data is None else data.decode("utf-8", errors="backslashreplace")


def compile_template(template: str) -> str:
    """Validate a ``str.format`` template over FIELDS and turn ``\\t``-style escapes into characters."""
    for escape, char in ESCAPES.items():
        template = template.replace(escape, char)
    try:
        names = {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--format") from exc
    unknown = sorted(names - set(FIELDS))
    if unknown:
        raise click.BadParameter(f"unknown field {{{unknown[0]}}}; fields: {', '.join(FIELDS)}", param_hint="--format")
    return template


def render(template: str, msg: Any) -> str:
    headers = msg.headers() or []
    return template.format(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        timestamp=msg.timestamp()[1],
        key=_text(msg.key()),
        value=_text(msg.value()),
        headers=",".join(f"{k}={_text(v)}" for k, v in headers),
    )


@click.command()
@bootstrap_option
@click.argument("topic")
@click.option("-g", "--group", default=None, help="Consume as a member of this group and commit offsets.")
@click.option("--from-beginning", is_flag=True, help="Start at the earliest offset (with a group: if none committed).")
@click.option("--offset", type=int, default=None, help="Start at this offset; a negative N starts N before the end.")
@click.option("--timestamp", "start_time", default=None, help="Start at the first record at or after this time "
              "(epoch ms or ISO 8601).")
@click.option("-p", "--partition", "partitions", type=int, multiple=True, help="Only these partitions (no group).")
@click.option("-f", "--format", "template", default="{value}", show_default=True,
              help=f"Output per record, a Python format string over: {', '.join(FIELDS)}.")
@click.option("-e", "--exit-at-end", is_flag=True, help="Exit once every partition is read to its end.")
@click.option("-c", "--count", "max_records", type=int, default=None, help="Exit after this many records.")
def consume(
    bootstrap: str,
    client_config: tuple[str, ...],
    topic: str,
    group: str | None,
    from_beginning: bool,
    offset: int | None,
    start_time: str | None,
    partitions: tuple[int, ...],
    template: str,
    exit_at_end: bool,
    max_records: int | None,
) -> None:
    """Print the records of TOPIC, from the end unless told where to start."""
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition

    if sum((from_beginning, offset is not None, start_time is not None)) > 1:
        raise click.UsageError("give at most one of --from-beginning, --offset and --timestamp")
    if group and partitions:
        raise click.UsageError("--partition assigns partitions by hand and cannot be used with --group")
    template = compile_template(template)
    timestamp = parse_timestamp(start_time) if start_time is not None else None
    settings = client_settings(
        bootstrap,
        client_config,
        **{
            "group.id": group or f"kafkalite-cli-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": bool(group),
            "auto.offset.reset": "earliest" if from_beginning else "latest",
            "enable.partition.eof": True,
        },
    )
    try:
        consumer = Consumer(settings)
    except KafkaException as exc:
        raise fail(f"cannot create a consumer: {error_text(exc)}") from exc

    def start_offsets(tps: list[Any]) -> list[Any]:
        """The explicit start position of each partition (for --offset / --timestamp / no group)."""
        if timestamp is not None:
            asked = [TopicPartition(tp.topic, tp.partition, timestamp) for tp in tps]
            found = consumer.offsets_for_times(asked, timeout=TIMEOUT_SECONDS)
            return [TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_END) for tp in found]
        if offset is not None and offset >= 0:
            return [TopicPartition(tp.topic, tp.partition, offset) for tp in tps]
        if offset is not None:
            out = []
            for tp in tps:
                low, high = consumer.get_watermark_offsets(tp, timeout=TIMEOUT_SECONDS)
                out.append(TopicPartition(tp.topic, tp.partition, max(low, high + offset)))
            return out
        start = OFFSET_BEGINNING if from_beginning else OFFSET_END
        return [TopicPartition(tp.topic, tp.partition, start) for tp in tps]

    assigned: set[int] = set()
    at_end: set[int] = set()
    explicit_start = offset is not None or timestamp is not None

    def on_assign(c: Any, tps: list[Any]) -> None:
        assigned.update(tp.partition for tp in tps)
        at_end.difference_update(tp.partition for tp in tps)
        if explicit_start:
            c.assign(start_offsets(tps))

    def on_revoke(c: Any, tps: list[Any]) -> None:
        assigned.difference_update(tp.partition for tp in tps)
        at_end.difference_update(tp.partition for tp in tps)

    printed = 0
    try:
        if group:
            consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
        else:
            metadata = consumer.list_topics(topic, timeout=TIMEOUT_SECONDS).topics.get(topic)
            if metadata is None or metadata.error is not None:
                reason = metadata.error.str() if metadata is not None and metadata.error else "not found"
                raise fail(f"topic {topic}: {reason}")
            chosen = sorted(partitions) if partitions else sorted(metadata.partitions)
            missing = sorted(set(chosen) - set(metadata.partitions))
            if missing:
                raise fail(f"topic {topic} has no partition {missing[0]}")
            consumer.assign(start_offsets([TopicPartition(topic, p) for p in chosen]))
            assigned.update(chosen)
        while max_records is None or printed < max_records:
            msg = consumer.poll(0.2)
            if msg is None:
                sys.stdout.flush()  # idle: show what was printed (pipes are block-buffered)
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition() or 0)
                    if exit_at_end and assigned and at_end >= assigned:
                        break
                    continue
                if err.fatal() or err.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_PARTITION):
                    raise fail(f"consuming {topic}: {err.str()}")
                note(f"warning: {err.str()}")
                continue
            at_end.discard(msg.partition())
            sys.stdout.write(render(template, msg) + "\n")
            printed += 1
        sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # piped into head: stop quietly (and leave no error at exit)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        if group and printed:
            try:
                consumer.commit(asynchronous=False)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError._NO_OFFSET:
                    note(f"warning: final commit failed: {error_text(exc)}")
        consumer.close()
    note(f"Processed a total of {printed} messages")
