"""``kafkalite topics list|create|describe|alter|delete``: kafka-topics and kafka-configs for topics.

Metadata for listing and partitions, CreateTopics/DeleteTopics/CreatePartitions, DescribeConfigs
and IncrementalAlterConfigs for configs, ListOffsets for the offsets shown by ``describe``.
"""

from __future__ import annotations

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
    parse_pairs,
    result,
    results,
    uuid_text,
)


@click.group()
def topics() -> None:
    """List, create, describe, alter and delete topics."""


def _metadata(admin: Any, topic: str | None = None) -> Any:
    try:
        return admin.list_topics(topic=topic, timeout=TIMEOUT_SECONDS)
    except Exception as exc:
        raise fail(f"cannot read cluster metadata: {error_text(exc)}") from exc


@topics.command("list")
@bootstrap_option
@output_option
@click.option("--exclude-internal", is_flag=True, help="Leave out internal topics (names starting with __).")
def list_topics(bootstrap: str, client_config: tuple[str, ...], output: str, exclude_internal: bool) -> None:
    """List topics with their partition counts."""
    metadata = _metadata(admin_client(bootstrap, client_config))
    rows = []
    for name in sorted(metadata.topics):
        if exclude_internal and name.startswith("__"):
            continue
        topic = metadata.topics[name]
        if topic.error is not None:
            note(f"{name}: {topic.error.str()}")
            continue
        rows.append({"topic": name, "partitions": len(topic.partitions)})
    emit(rows, ["topic", "partitions"], output)


@topics.command()
@bootstrap_option
@click.argument("names", nargs=-1, required=True)
@click.option("-p", "--partitions", type=int, default=-1, help="Partitions (default: the broker's num.partitions).")
@click.option(
    "-r", "--replication-factor", type=int, default=-1, help="Replicas (default: the broker's default)."
)
@click.option("-c", "--config", "configs", multiple=True, metavar="KEY=VALUE", help="Topic config, repeatable.")
@click.option("--if-not-exists", is_flag=True, help="Succeed when the topic already exists.")
def create(
    bootstrap: str,
    client_config: tuple[str, ...],
    names: tuple[str, ...],
    partitions: int,
    replication_factor: int,
    configs: tuple[str, ...],
    if_not_exists: bool,
) -> None:
    """Create topics."""
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import NewTopic

    settings = parse_pairs(configs, "--config")
    admin = admin_client(bootstrap, client_config)
    new = [
        NewTopic(n, num_partitions=partitions, replication_factor=replication_factor, config=settings) for n in names
    ]
    futures = admin.create_topics(new, operation_timeout=TIMEOUT_SECONDS)
    tolerated = KafkaError.TOPIC_ALREADY_EXISTS if if_not_exists else None
    _report(futures, "create", "Created", tolerated, "already exists")


@topics.command()
@bootstrap_option
@click.argument("names", nargs=-1, required=True)
@click.option("--if-exists", is_flag=True, help="Succeed when a topic does not exist.")
def delete(bootstrap: str, client_config: tuple[str, ...], names: tuple[str, ...], if_exists: bool) -> None:
    """Delete topics (and their data)."""
    from confluent_kafka import KafkaError

    admin = admin_client(bootstrap, client_config)
    futures = admin.delete_topics(list(names), operation_timeout=TIMEOUT_SECONDS)
    tolerated = KafkaError.UNKNOWN_TOPIC_OR_PART if if_exists else None
    _report(futures, "delete", "Deleted", tolerated, "does not exist")


def _report(futures: dict[str, Any], verb: str, done: str, tolerated: int | None, tolerated_note: str) -> None:
    """Wait for per-topic admin results; print each outcome, fail once with every problem."""
    from confluent_kafka import KafkaException

    problems = []
    for name, future in futures.items():
        try:
            future.result(TIMEOUT_SECONDS)
        except KafkaException as exc:
            if tolerated is not None and exc.args[0].code() == tolerated:
                note(f"Topic {name} {tolerated_note}.")
                continue
            problems.append(f"cannot {verb} topic {name}: {error_text(exc)}")
            continue
        click.echo(f"{done} topic {name}.")
    if problems:
        raise fail("\n".join(problems))


def topic_configs(admin: Any, name: str, include_defaults: bool) -> list[dict[str, Any]]:
    """The topic's configs from DescribeConfigs (only the ones set on the topic, unless asked)."""
    from confluent_kafka.admin import ConfigResource, ConfigSource, ResourceType

    resource = ConfigResource(ResourceType.TOPIC, name)
    entries = result(admin.describe_configs([resource])[resource], f"cannot describe configs of {name}")
    rows = []
    for entry in sorted(entries.values(), key=lambda e: e.name):
        set_here = entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
        if set_here or include_defaults:
            rows.append(
                {
                    "name": entry.name,
                    "value": None if entry.is_sensitive else entry.value,
                    "source": ConfigSource(entry.source).name if entry.source is not None else None,
                }
            )
    return rows


@topics.command()
@bootstrap_option
@output_option
@click.argument("names", nargs=-1, required=True)
@click.option("--all-configs", is_flag=True, help="Show every config, defaults included.")
@click.option("--no-configs", is_flag=True, help="Skip DescribeConfigs (partitions and offsets only).")
def describe(
    bootstrap: str,
    client_config: tuple[str, ...],
    output: str,
    names: tuple[str, ...],
    all_configs: bool,
    no_configs: bool,
) -> None:
    """Partitions (leader, replicas, ISR, offsets) and configs of topics."""
    from confluent_kafka import TopicCollection, TopicPartition
    from confluent_kafka.admin import OffsetSpec

    admin = admin_client(bootstrap, client_config)
    descriptions = results(admin.describe_topics(TopicCollection(list(names))), lambda n: f"cannot describe {n}")
    wanted: dict[Any, Any] = {}
    for name, desc in descriptions.items():
        for p in desc.partitions:
            wanted[TopicPartition(name, p.id)] = OffsetSpec.earliest()
    earliest = results(admin.list_offsets(wanted), lambda tp: f"cannot list offsets of {tp.topic}/{tp.partition}")
    latest = results(
        admin.list_offsets({tp: OffsetSpec.latest() for tp in wanted}),
        lambda tp: f"cannot list offsets of {tp.topic}/{tp.partition}",
    )
    found_start = {(tp.topic, tp.partition): info.offset for tp, info in earliest.items()}
    found_end = {(tp.topic, tp.partition): info.offset for tp, info in latest.items()}

    report = []
    for name in names:
        desc = descriptions[name]
        partitions = [
            {
                "partition": p.id,
                "leader": p.leader.id if p.leader is not None else None,
                "replicas": ",".join(str(r.id) for r in p.replicas),
                "isr": ",".join(str(r.id) for r in p.isr),
                "log_start_offset": found_start.get((name, p.id)),
                "log_end_offset": found_end.get((name, p.id)),
            }
            for p in sorted(desc.partitions, key=lambda p: p.id)
        ]
        entry: dict[str, Any] = {
            "topic": name,
            "topic_id": (
                uuid_text(desc.topic_id.get_most_significant_bits(), desc.topic_id.get_least_significant_bits())
                if desc.topic_id is not None
                else None
            ),
            "partition_count": len(partitions),
            "replication_factor": len(desc.partitions[0].replicas) if desc.partitions else 0,
            "partitions": partitions,
        }
        if not no_configs:
            try:
                entry["configs"] = topic_configs(admin, name, all_configs)
            except click.ClickException as exc:  # e.g. a broker without DescribeConfigs
                note(f"configs unavailable: {exc.message}")
                entry["configs"] = None
        report.append(entry)

    if output == "json":
        import json

        click.echo(json.dumps(report, indent=2))
        return
    for entry in report:
        click.echo(
            f"Topic: {entry['topic']}\tTopicId: {entry['topic_id']}\t"
            f"PartitionCount: {entry['partition_count']}\tReplicationFactor: {entry['replication_factor']}"
        )
        if entry.get("configs"):
            emit(entry["configs"], ["name", "value", "source"], "table", title="Configs")
        emit(
            entry["partitions"],
            ["partition", "leader", "replicas", "isr", "log_start_offset", "log_end_offset"],
            "table",
            title="Partitions",
        )


@topics.command()
@bootstrap_option
@click.argument("name")
@click.option("-c", "--config", "configs", multiple=True, metavar="KEY=VALUE", help="Set a config, repeatable.")
@click.option("-d", "--delete-config", "deletes", multiple=True, metavar="KEY", help="Back to the default.")
@click.option("-p", "--partitions", type=int, default=None, help="Grow the topic to this many partitions.")
def alter(
    bootstrap: str,
    client_config: tuple[str, ...],
    name: str,
    configs: tuple[str, ...],
    deletes: tuple[str, ...],
    partitions: int | None,
) -> None:
    """Change a topic's configs (IncrementalAlterConfigs) or grow its partitions."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions, ResourceType

    settings = parse_pairs(configs, "--config")
    if not settings and not deletes and partitions is None:
        raise click.UsageError("nothing to change: give --config, --delete-config or --partitions")
    admin = admin_client(bootstrap, client_config)
    if partitions is not None:
        future = admin.create_partitions([NewPartitions(name, partitions)], operation_timeout=TIMEOUT_SECONDS)[name]
        result(future, f"cannot grow {name} to {partitions} partitions")
        click.echo(f"Topic {name} now has {partitions} partitions.")
    if settings or deletes:
        entries = [
            ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET) for key, value in settings.items()
        ] + [ConfigEntry(key, None, incremental_operation=AlterConfigOpType.DELETE) for key in deletes]
        resource = ConfigResource(ResourceType.TOPIC, name, incremental_configs=entries)
        result(admin.incremental_alter_configs([resource])[resource], f"cannot alter configs of {name}")
        click.echo(f"Updated configs of topic {name}.")
