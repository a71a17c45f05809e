"""``kafkalite client-metrics list|describe|alter|delete``: KIP-714 subscriptions, as kafka-client-metrics.sh.

A subscription (a CLIENT_METRICS config resource) tells matching clients which metrics to push and
how often: ``alter --name S --metrics org.apache.kafka.producer. --interval 1000
--match client_software_name=apache-kafka-java`` (``--metrics '*'`` for all; several ``--match``
entries must all match). ``delete`` removes every config of the subscription, which removes it. The
requests are DescribeConfigs / IncrementalAlterConfigs / ListConfigResources, sent raw through
kafka-python's connection manager (its admin client has no client-metrics resources), so the same
commands work against Apache Kafka.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import click

from kafkalite.tools.common import bootstrap_option, emit, output_option
from kafkalite.tools.quotas import _send, admin

CLIENT_METRICS = 16
SET, DELETE = 0, 1
CONFIGS = ("metrics", "interval.ms", "match")


def list_subscriptions(client: Any) -> list[str]:
    from kafkalite.protocol import codec

    request_class, _ = codec.message_classes(74)  # type: ignore[misc]
    response = _send(client, request_class(resource_types=[CLIENT_METRICS]))
    if response.error_code:
        raise click.ClickException(f"could not list subscriptions (error {response.error_code})")
    return sorted(c.resource_name for c in response.config_resources if c.resource_type == CLIENT_METRICS)


def describe_subscription(client: Any, name: str) -> dict[str, str]:
    from kafka.protocol.admin import DescribeConfigsRequest

    response = _send(client, DescribeConfigsRequest(resources=[(CLIENT_METRICS, name, None)], include_synonyms=False))
    (result,) = response.results
    if result.error_code:
        raise click.ClickException(f"{name}: {result.error_message} (error {result.error_code})")
    return {entry.name: entry.value for entry in result.configs}


def alter_subscription(client: Any, name: str, ops: Sequence[tuple[str, int, str | None]]) -> None:
    from kafka.protocol.admin import IncrementalAlterConfigsRequest

    request = IncrementalAlterConfigsRequest(resources=[(CLIENT_METRICS, name, list(ops))], validate_only=False)
    (result,) = _send(client, request).responses
    if result.error_code:
        raise click.ClickException(f"{name}: {result.error_message} (error {result.error_code})")


@click.group("client-metrics")
def client_metrics() -> None:
    """Client metrics subscriptions (KIP-714): which metrics clients push, how often, and which clients."""


@client_metrics.command("list")
@bootstrap_option
def list_command(bootstrap: str, client_config: tuple[str, ...]) -> None:
    """The subscriptions' names, one per line."""
    client = admin(bootstrap, client_config)
    try:
        for name in list_subscriptions(client):
            click.echo(name)
    finally:
        client.close()


@client_metrics.command("describe")
@bootstrap_option
@output_option
@click.option("--name", help="One subscription (default: all).")
def describe_command(bootstrap: str, client_config: tuple[str, ...], output: str, name: str | None) -> None:
    """Each subscription's metrics, push interval and match."""
    client = admin(bootstrap, client_config)
    try:
        names = [name] if name else list_subscriptions(client)
        rows = [{"name": n, **describe_subscription(client, n)} for n in names]
    finally:
        client.close()
    emit(rows, ["name", *CONFIGS], output)


@client_metrics.command("alter")
@bootstrap_option
@click.option("--name", help="The subscription to create or change.")
@click.option("--generate-name", is_flag=True, help="Name a new subscription with a random UUID.")
@click.option("--metrics", help="Metric name prefixes, comma-separated ('*' for all, '' for none).")
@click.option("--interval", type=int, help="Push interval in milliseconds (100 to 3600000).")
@click.option("--match", "match", multiple=True,
              help="client_id, client_instance_id, client_software_name, client_software_version, "
                   "client_source_address or client_source_port = regex; repeatable, all must match.")
def alter_command(bootstrap: str, client_config: tuple[str, ...], name: str | None, generate_name: bool,
                  metrics: str | None, interval: int | None, match: tuple[str, ...]) -> None:
    """Create or change a subscription (only the given settings change)."""
    if generate_name == (name is not None):
        raise click.UsageError("give exactly one of --name and --generate-name")
    name = name or str(uuid.uuid4())
    ops: list[tuple[str, int, str | None]] = []
    if metrics is not None:
        ops.append(("metrics", SET, metrics))
    if interval is not None:
        ops.append(("interval.ms", SET, str(interval)))
    if match:
        ops.append(("match", SET, ",".join(match)))
    if not ops:
        raise click.UsageError("nothing to change: give --metrics, --interval or --match")
    client = admin(bootstrap, client_config)
    try:
        alter_subscription(client, name, ops)
    finally:
        client.close()
    click.echo(f"altered client metrics subscription {name}")


@client_metrics.command("delete")
@bootstrap_option
@click.option("--name", required=True, help="The subscription to delete.")
def delete_command(bootstrap: str, client_config: tuple[str, ...], name: str) -> None:
    """Delete a subscription (all of its configs)."""
    client = admin(bootstrap, client_config)
    try:
        alter_subscription(client, name, [(key, DELETE, None) for key in CONFIGS])
    finally:
        client.close()
    click.echo(f"deleted client metrics subscription {name}")
