"""``kafkalite groups list|describe|reset-offsets|delete``: kafka-consumer-groups.

Lag is computed the way kafka-consumer-groups computes it: log end offset (ListOffsets latest)
minus the committed offset (OffsetFetch), per partition the group has committed or been assigned.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import click

from kafkalite.tools.common import (
    TIMEOUT_SECONDS,
    admin_client,
    bootstrap_option,
    emit,
    error_text,
    fail,
    note,
    output_option,
    parse_timestamp,
    result,
)

STATE_NAMES = {
    "UNKNOWN": "Unknown",
    "PREPARING_REBALANCING": "PreparingRebalance",
    "COMPLETING_REBALANCING": "CompletingRebalance",
    "STABLE": "Stable",
    "DEAD": "Dead",
    "EMPTY": "Empty",
}
OFFSET_COLUMNS = [
    "group", "topic", "partition", "current_offset", "log_end_offset", "lag", "consumer_id", "host", "client_id",
]


class GroupNotFound(click.ClickException):
    pass


def state_name(state: Any) -> str:
    name = getattr(state, "name", None) or str(state)
    return STATE_NAMES.get(name, name)


@click.group()
def groups() -> None:
    """List and describe consumer groups, show their lag, reset their offsets."""


@groups.command("list")
@bootstrap_option
@output_option
def list_groups(bootstrap: str, client_config: tuple[str, ...], output: str) -> None:
    """List consumer groups with their state."""
    admin = admin_client(bootstrap, client_config)
    listed = result(admin.list_consumer_groups(request_timeout=TIMEOUT_SECONDS), "cannot list groups")
    for error in listed.errors:
        note(f"warning: {error}")
    rows = [
        {"group": g.group_id, "state": state_name(g.state) if g.state is not None else None}
        for g in sorted(listed.valid, key=lambda g: g.group_id)
    ]
    emit(rows, ["group", "state"], output)


# ---- describe --------------------------------------------------------------------------------------------


def describe_group(admin: Any, group_id: str) -> Any:
    from confluent_kafka import KafkaError, KafkaException

    try:
        desc = admin.describe_consumer_groups([group_id], request_timeout=TIMEOUT_SECONDS)[group_id].result(
            TIMEOUT_SECONDS
        )
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND:
            raise GroupNotFound(f"Consumer group '{group_id}' does not exist.") from exc
        raise fail(f"cannot describe group {group_id}: {error_text(exc)}") from exc
    if state_name(desc.state) == "Dead":
        raise GroupNotFound(f"Consumer group '{group_id}' does not exist.")
    return desc


def committed_offsets(admin: Any, group_id: str) -> dict[tuple[str, int], int]:
    """The group's committed offsets (partitions without a commit are left out)."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    request = [ConsumerGroupTopicPartitions(group_id)]
    answer = result(
        admin.list_consumer_group_offsets(request, request_timeout=TIMEOUT_SECONDS)[group_id],
        f"cannot fetch the offsets of group {group_id}",
    )
    return {(tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions or [] if tp.offset >= 0}


def list_offsets(admin: Any, partitions: Iterable[tuple[str, int]], spec: Any) -> dict[tuple[str, int], int | None]:
    """ListOffsets for each partition; None where the broker answered with an error."""
    from confluent_kafka import TopicPartition

    wanted = {TopicPartition(topic, partition): spec for topic, partition in partitions}
    if not wanted:
        return {}
    out: dict[tuple[str, int], int | None] = {}
    for tp, future in admin.list_offsets(wanted, request_timeout=TIMEOUT_SECONDS).items():
        try:
            offset = future.result(TIMEOUT_SECONDS).offset
        except Exception as exc:
            note(f"warning: no offsets for {tp.topic}/{tp.partition}: {error_text(exc)}")
            offset = None
        out[(tp.topic, tp.partition)] = offset if offset is not None and offset >= 0 else None
    return out


def offset_rows(admin: Any, group_id: str, desc: Any) -> list[dict[str, Any]]:
    """kafka-consumer-groups --describe rows: committed, log end and lag per partition."""
    from confluent_kafka.admin import OffsetSpec

    committed = committed_offsets(admin, group_id)
    owners: dict[tuple[str, int], Any] = {}
    for member in desc.members:
        for tp in member.assignment.topic_partitions:
            owners[(tp.topic, tp.partition)] = member
    keys = sorted(set(committed) | set(owners))
    ends = list_offsets(admin, keys, OffsetSpec.latest())
    rows = []
    for key in keys:
        current, end, member = committed.get(key), ends.get(key), owners.get(key)
        rows.append(
            {
                "group": group_id,
                "topic": key[0],
                "partition": key[1],
                "current_offset": current,
                "log_end_offset": end,
                "lag": end - current if current is not None and end is not None else None,
                "consumer_id": member.member_id if member else None,
                "host": member.host if member else None,
                "client_id": member.client_id if member else None,
            }
        )
    return rows


@groups.command()
@bootstrap_option
@output_option
@click.argument("group_ids", metavar="GROUP...", nargs=-1)
@click.option("--all-groups", is_flag=True, help="Describe every group.")
@click.option("--members", "view", flag_value="members", help="Members and their assignments instead of offsets.")
@click.option("--state", "view", flag_value="state", help="State, coordinator and assignor instead of offsets.")
def describe(
    bootstrap: str,
    client_config: tuple[str, ...],
    output: str,
    group_ids: tuple[str, ...],
    all_groups: bool,
    view: str | None,
) -> None:
    """Per-partition committed offset, log end offset and lag of groups (or --members / --state)."""
    admin = admin_client(bootstrap, client_config)
    names = list(group_ids)
    if all_groups:
        listed = result(admin.list_consumer_groups(request_timeout=TIMEOUT_SECONDS), "cannot list groups")
        names = sorted({*names, *(g.group_id for g in listed.valid)})
    if not names:
        raise click.UsageError("name at least one GROUP, or give --all-groups")
    rows: list[dict[str, Any]] = []
    missing: list[str] = []
    for group_id in names:
        try:
            desc = describe_group(admin, group_id)
        except GroupNotFound as exc:
            missing.append(exc.message)
            continue
        if view == "state":
            coordinator = desc.coordinator
            rows.append(
                {
                    "group": group_id,
                    "coordinator": f"{coordinator.host}:{coordinator.port} ({coordinator.id})" if coordinator else None,
                    "assignment_strategy": desc.partition_assignor or None,
                    "state": state_name(desc.state),
                    "members": len(desc.members),
                }
            )
        elif view == "members":
            for m in desc.members:
                assigned: dict[str, list[int]] = {}
                for tp in m.assignment.topic_partitions:
                    assigned.setdefault(tp.topic, []).append(tp.partition)
                rows.append(
                    {
                        "group": group_id,
                        "consumer_id": m.member_id,
                        "group_instance_id": m.group_instance_id,
                        "host": m.host,
                        "client_id": m.client_id,
                        "partitions": sum(len(v) for v in assigned.values()),
                        "assignment": ",".join(
                            f"{t}({','.join(map(str, sorted(ps)))})" for t, ps in sorted(assigned.items())
                        ) or None,
                    }
                )
            if not desc.members and output == "table":
                note(f"Consumer group '{group_id}' has no active members.")
        else:
            if not desc.members and output == "table":
                note(f"Consumer group '{group_id}' has no active members.")
            rows.extend(offset_rows(admin, group_id, desc))
    if len(missing) < len(names):
        if view == "state":
            emit(rows, ["group", "coordinator", "assignment_strategy", "state", "members"], output)
        elif view == "members":
            cols = ["group", "consumer_id", "group_instance_id", "host", "client_id", "partitions", "assignment"]
            emit(rows, cols, output)
        else:
            emit(rows, OFFSET_COLUMNS, output)
    if missing:
        raise fail("\n".join(missing))


# ---- reset-offsets ---------------------------------------------------------------------------------------


def _target_partitions(admin: Any, group_id: str, topics: tuple[str, ...], all_topics: bool,
                       committed: dict[tuple[str, int], int]) -> list[tuple[str, int]]:
    if all_topics:
        if not committed:
            raise fail(f"group {group_id} has no committed offsets; name the topics with --topic")
        return sorted(committed)
    try:
        metadata = admin.list_topics(timeout=TIMEOUT_SECONDS)
    except Exception as exc:
        raise fail(f"cannot read cluster metadata: {error_text(exc)}") from exc
    chosen: set[tuple[str, int]] = set()
    for spec in topics:
        name, _, listed = spec.partition(":")
        topic = metadata.topics.get(name)
        if topic is None or topic.error is not None:
            raise fail(f"topic {name} does not exist")
        if listed:
            try:
                wanted = {int(p) for p in listed.split(",") if p}
            except ValueError as exc:
                raise click.BadParameter(f"{spec!r}: partitions must be numbers", param_hint="--topic") from exc
            unknown = sorted(wanted - set(topic.partitions))
            if unknown:
                raise fail(f"topic {name} has no partition {unknown[0]}")
        else:
            wanted = set(topic.partitions)
        chosen.update((name, p) for p in wanted)
    return sorted(chosen)


@groups.command("reset-offsets")
@bootstrap_option
@output_option
@click.argument("group_id", metavar="GROUP")
@click.option("-t", "--topic", "topics", multiple=True, metavar="TOPIC[:P,P]",
              help="Topic to reset, optionally only some partitions; repeatable.")
@click.option("--all-topics", is_flag=True, help="Every topic the group has committed offsets for.")
@click.option("--to-earliest", "to", flag_value="earliest", help="The log start offset.")
@click.option("--to-latest", "to", flag_value="latest", help="The log end offset.")
@click.option("--to-offset", type=int, default=None, help="This offset (kept within the log).")
@click.option("--to-datetime", "--to-timestamp", "to_time", default=None,
              help="The first offset at or after this time (epoch ms or ISO 8601).")
@click.option("--shift-by", type=int, default=None, help="Move the committed offset by N (negative: back).")
@click.option("--dry-run/--execute", default=True, show_default=True,
              help="Show the new offsets only (default), or commit them.")
def reset_offsets(
    bootstrap: str,
    client_config: tuple[str, ...],
    output: str,
    group_id: str,
    topics: tuple[str, ...],
    all_topics: bool,
    to: str | None,
    to_offset: int | None,
    to_time: str | None,
    shift_by: int | None,
    dry_run: bool,
) -> None:
    """Plan or apply new committed offsets for a group that has no active members."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import OffsetSpec

    scenarios = sum(x is not None for x in (to, to_offset, to_time, shift_by))
    if scenarios != 1:
        raise click.UsageError("give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")
    if bool(topics) == all_topics:
        raise click.UsageError("give --topic (one or more) or --all-topics")
    admin = admin_client(bootstrap, client_config)

    state = "Dead"
    with contextlib.suppress(GroupNotFound):  # resetting a group that does not exist creates it
        state = state_name(describe_group(admin, group_id).state)
    if not dry_run and state not in ("Empty", "Dead"):
        raise fail(
            f"Assignments can only be reset if the group '{group_id}' is inactive, but the current state is {state}."
        )
    committed = committed_offsets(admin, group_id)
    targets = _target_partitions(admin, group_id, topics, all_topics, committed)
    earliest = list_offsets(admin, targets, OffsetSpec.earliest())
    latest = list_offsets(admin, targets, OffsetSpec.latest())

    new: dict[tuple[str, int], int] = {}
    if to_time is not None:
        found = list_offsets(admin, targets, OffsetSpec.for_timestamp(parse_timestamp(to_time)))
    for key in targets:
        low, high = earliest.get(key), latest.get(key)
        if low is None or high is None:
            raise fail(f"cannot find the offsets of {key[0]}/{key[1]}")
        if to == "earliest":
            offset = low
        elif to == "latest":
            offset = high
        elif to_time is not None:
            at = found.get(key)
            offset = at if at is not None else high
        elif to_offset is not None:
            offset = to_offset
        else:
            assert shift_by is not None
            if key not in committed:
                raise fail(f"{key[0]}/{key[1]} has no committed offset to shift; use --to-earliest or --to-latest")
            offset = committed[key] + shift_by
        clamped = min(max(offset, low), high)
        if clamped != offset:
            note(f"{key[0]}/{key[1]}: offset {offset} is outside the log [{low}, {high}], using {clamped}")
        new[key] = clamped

    if not dry_run:
        request = [ConsumerGroupTopicPartitions(group_id, [TopicPartition(t, p, o) for (t, p), o in new.items()])]
        answer = result(
            admin.alter_consumer_group_offsets(request, request_timeout=TIMEOUT_SECONDS)[group_id],
            f"cannot commit offsets for group {group_id}",
        )
        errors = [f"{tp.topic}/{tp.partition}: {tp.error.str()}" for tp in answer.topic_partitions if tp.error]
        if errors:
            raise fail("some offsets were not committed:\n" + "\n".join(errors))
    rows = [
        {"group": group_id, "topic": t, "partition": p, "current_offset": committed.get((t, p)), "new_offset": o}
        for (t, p), o in sorted(new.items())
    ]
    emit(rows, ["group", "topic", "partition", "current_offset", "new_offset"], output)
    if dry_run:
        note("Dry run: nothing was committed. Run again with --execute to apply.")


@groups.command()
@bootstrap_option
@click.argument("group_ids", metavar="GROUP...", nargs=-1, required=True)
def delete(bootstrap: str, client_config: tuple[str, ...], group_ids: tuple[str, ...]) -> None:
    """Delete groups that have no active members (and their committed offsets)."""
    admin = admin_client(bootstrap, client_config)
    problems = []
    for group_id, future in admin.delete_consumer_groups(list(group_ids), request_timeout=TIMEOUT_SECONDS).items():
        try:
            future.result(TIMEOUT_SECONDS)
        except Exception as exc:
            problems.append(f"cannot delete group {group_id}: {error_text(exc)}")
            continue
        click.echo(f"Deleted group {group_id}.")
    if problems:
        raise fail("\n".join(problems))
