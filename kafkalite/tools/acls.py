"""``kafkalite acls list|add|remove``: kafka-acls.sh through the Admin API (CreateAcls, DescribeAcls, DeleteAcls).

Flags follow kafka-acls.sh: ``--allow-principal`` / ``--deny-principal`` (``User:alice``),
``--allow-host`` / ``--deny-host`` (default ``*``), ``--operation`` (Read, Write, Create, Delete,
Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All; repeatable),
one or more resources (``--topic``, ``--group``, ``--transactional-id``, ``--cluster``) and
``--resource-pattern-type``. As in kafka-acls.sh, ``add`` defaults the operation to All, and
``remove`` without a principal or an operation removes every binding of the named resources.
``--producer`` and ``--consumer`` stand for kafka-acls.sh's operation sets.
Works against kafkalite and Apache Kafka alike (a broker without an authorizer answers
SECURITY_DISABLED, shown as such).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import click

from kafkalite.tools.common import (
    TIMEOUT_SECONDS,
    F,
    admin_client,
    bootstrap_option,
    emit,
    error_text,
    fail,
    output_option,
    result,
)

COLUMNS = ["principal", "host", "operation", "permission", "resource_type", "resource_name", "pattern_type"]
#: kafka-acls.sh's spelling of each operation (AclOperation names without underscores, any case).
OPERATIONS = [
    "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS", "IDEMPOTENT_WRITE",
]
CLUSTER_NAME = "kafka-cluster"


def _operation(name: str) -> str:
    """``DescribeConfigs``, ``describe-configs`` or ``DESCRIBE_CONFIGS`` -> ``DESCRIBE_CONFIGS``."""
    squashed = name.replace("-", "").replace("_", "").upper()
    for op in OPERATIONS:
        if op.replace("_", "") == squashed:
            return op
    raise click.BadParameter(f"{name!r} is not one of {', '.join(o.title().replace('_', '') for o in OPERATIONS)}",
                             param_hint="--operation")


@dataclass(frozen=True)
class Resource:
    resource_type: str  # confluent_kafka ResourceType name: TOPIC, GROUP, BROKER (the cluster), TRANSACTIONAL_ID
    name: str | None


def _resources(topics: Iterable[str], groups: Iterable[str], txn_ids: Iterable[str], cluster: bool) -> list[Resource]:
    found = [Resource("TOPIC", t) for t in topics] + [Resource("GROUP", g) for g in groups]
    found += [Resource("TRANSACTIONAL_ID", t) for t in txn_ids]
    if cluster:
        found.append(Resource("BROKER", CLUSTER_NAME))
    return found


def resource_options(func: Any) -> Any:
    for option in reversed([
        click.option("--topic", "topics", multiple=True, help="A topic (repeatable; '*' for every topic)."),
        click.option("--group", "groups", multiple=True, help="A consumer group (repeatable; '*' for all)."),
        click.option("--transactional-id", "txn_ids", multiple=True, help="A transactional id (repeatable)."),
        click.option("--cluster", is_flag=True, help="The cluster resource (kafka-cluster)."),
    ]):
        func = option(func)
    return func


def principal_options(func: Any) -> Any:
    for option in reversed([
        click.option("--producer", is_flag=True,
                     help="kafka-acls.sh's producer set: Write, Describe, Create on --topic; Write, Describe on "
                          "--transactional-id; IdempotentWrite on the cluster with --idempotent."),
        click.option("--consumer", is_flag=True,
                     help="kafka-acls.sh's consumer set: Read, Describe on --topic; Read on --group."),
        click.option("--idempotent", is_flag=True, help="With --producer: IdempotentWrite on the cluster."),
        click.option("--allow-principal", "allow_principals", multiple=True, metavar="TYPE:NAME",
                     help="Principal to allow, e.g. User:alice (repeatable)."),
        click.option("--deny-principal", "deny_principals", multiple=True, metavar="TYPE:NAME",
                     help="Principal to deny (repeatable)."),
        click.option("--allow-host", "allow_hosts", multiple=True, help="Host the allow applies to (default *)."),
        click.option("--deny-host", "deny_hosts", multiple=True, help="Host the deny applies to (default *)."),
        click.option("--operation", "operations", multiple=True, help="Operation (repeatable), e.g. Read."),
    ]):
        func = option(func)
    return func


def _targets(resources: list[Resource], operations: Iterable[str], default: str, producer: bool, consumer: bool,
             idempotent: bool) -> list[tuple[Resource, str]]:
    """(resource, operation) pairs: each operation on each resource, or kafka-acls.sh's producer/consumer sets."""
    if not (producer or consumer):
        ops = [_operation(o) for o in operations] or [default]
        return [(res, op) for res in resources for op in ops]
    if operations:
        raise click.UsageError("--operation cannot be combined with --producer or --consumer")
    if consumer and not any(r.resource_type == "GROUP" for r in resources):
        raise click.UsageError("--consumer needs --group")
    sets = {
        "TOPIC": (["WRITE", "DESCRIBE", "CREATE"] if producer else []) + (["READ", "DESCRIBE"] if consumer else []),
        "GROUP": ["READ"] if consumer else [],
        "TRANSACTIONAL_ID": ["WRITE", "DESCRIBE"] if producer else [],
    }
    pairs = [(res, op) for res in resources for op in dict.fromkeys(sets.get(res.resource_type, []))]
    if producer and idempotent:
        pairs.append((Resource("BROKER", CLUSTER_NAME), "IDEMPOTENT_WRITE"))
    return pairs


def _row(binding: Any) -> dict[str, Any]:
    rtype = binding.restype.name
    return {
        "principal": binding.principal,
        "host": binding.host,
        "operation": binding.operation.name,
        "permission": binding.permission_type.name,
        "resource_type": "CLUSTER" if rtype == "BROKER" else rtype,
        "resource_name": binding.name,
        "pattern_type": binding.resource_pattern_type.name,
    }


def _rows(bindings: Iterable[Any]) -> list[dict[str, Any]]:
    rows = [_row(b) for b in bindings]
    return sorted(rows, key=lambda r: tuple(str(r[c]) for c in COLUMNS[::-1]))


def _principal_entries(
    allow_principals: Iterable[str], deny_principals: Iterable[str], allow_hosts: Iterable[str],
    deny_hosts: Iterable[str], default_host: str | None,
) -> list[tuple[str, str | None, str]]:
    """(principal, host, permission) for each principal and host given, kafka-acls.sh's product."""
    for principal in (*allow_principals, *deny_principals):
        if ":" not in principal:
            raise click.BadParameter(f"{principal!r} is not TYPE:NAME (e.g. User:alice)", param_hint="principal")
    allow = [h or default_host for h in allow_hosts] or [default_host]
    deny = [h or default_host for h in deny_hosts] or [default_host]
    return [(p, h, "ALLOW") for p in allow_principals for h in allow] + [
        (p, h, "DENY") for p in deny_principals for h in deny
    ]


@click.group()
def acls() -> None:
    """List, add and remove ACLs (kafka-acls.sh); the broker needs authorizer.class.name set."""


@acls.command("list")
@bootstrap_option
@output_option
@resource_options
@click.option("--principal", default=None, help="Only bindings of this principal.")
@click.option("--resource-pattern-type", "pattern_type", default="any", show_default=True,
              type=click.Choice(["any", "match", "literal", "prefixed"], case_sensitive=False),
              help="match: every binding that applies to the named resources (literal, '*' and prefixes).")
def list_acls(bootstrap: str, client_config: tuple[str, ...], output: str, topics: tuple[str, ...],
              groups: tuple[str, ...], txn_ids: tuple[str, ...], cluster: bool, principal: str | None,
              pattern_type: str) -> None:
    """List the ACLs of the named resources, or every ACL."""
    from confluent_kafka.admin import (
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    admin = admin_client(bootstrap, client_config)
    resources = _resources(topics, groups, txn_ids, cluster) or [Resource("ANY", None)]
    found: dict[str, Any] = {}
    for res in resources:
        flt = AclBindingFilter(ResourceType[res.resource_type], res.name, ResourcePatternType[pattern_type.upper()],
                               principal, None, AclOperation.ANY, AclPermissionType.ANY)
        for binding in result(admin.describe_acls(flt, request_timeout=TIMEOUT_SECONDS), "cannot list ACLs"):
            found[str(binding)] = binding
    emit(_rows(found.values()), COLUMNS, output)


def edit_options(pattern_types: list[str]) -> Callable[[F], F]:
    """The options of ``add`` and ``remove`` (kafka-acls.sh's); only the pattern types they take
    differ (both default to literal)."""

    def decorate(func: F) -> F:
        for option in reversed([
            bootstrap_option, output_option, resource_options, principal_options,
            click.option("--resource-pattern-type", "pattern_type", default="literal", show_default=True,
                         type=click.Choice(pattern_types, case_sensitive=False)),
        ]):
            func = option(func)
        return func

    return decorate


def _named_resources(topics: Iterable[str], groups: Iterable[str], txn_ids: Iterable[str],
                     cluster: bool) -> list[Resource]:
    """The resources ``add`` and ``remove`` act on; a usage error when none is named."""
    resources = _resources(topics, groups, txn_ids, cluster)
    if not resources:
        raise click.UsageError("name a resource: --topic, --group, --transactional-id or --cluster")
    return resources


@acls.command()
@edit_options(["literal", "prefixed"])
def add(bootstrap: str, client_config: tuple[str, ...], output: str, topics: tuple[str, ...],
        groups: tuple[str, ...], txn_ids: tuple[str, ...], cluster: bool, allow_principals: tuple[str, ...],
        deny_principals: tuple[str, ...], allow_hosts: tuple[str, ...], deny_hosts: tuple[str, ...],
        operations: tuple[str, ...], producer: bool, consumer: bool, idempotent: bool, pattern_type: str) -> None:
    """Add ACLs: each principal x host x operation x resource; prints what was added."""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    resources = _named_resources(topics, groups, txn_ids, cluster)
    entries = _principal_entries(allow_principals, deny_principals, allow_hosts, deny_hosts, "*")
    if not entries:
        raise click.UsageError("name a principal: --allow-principal or --deny-principal")
    targets = _targets(resources, operations, "ALL", producer, consumer, idempotent)
    bindings = [
        AclBinding(ResourceType[res.resource_type], res.name or "",
                   ResourcePatternType["LITERAL" if res.resource_type == "BROKER" else pattern_type.upper()],
                   principal, host or "*", AclOperation[op], AclPermissionType[permission])
        for res, op in targets for principal, host, permission in entries
    ]
    admin = admin_client(bootstrap, client_config)
    problems = []
    for binding, future in admin.create_acls(bindings, request_timeout=TIMEOUT_SECONDS).items():
        try:
            future.result(TIMEOUT_SECONDS)
        except Exception as exc:
            problems.append(f"cannot add {binding}: {_reason(exc)}")
    if problems:
        raise fail("\n".join(problems))
    emit(_rows(bindings), COLUMNS, output, title="Added")


@acls.command()
@edit_options(["any", "match", "literal", "prefixed"])
def remove(bootstrap: str, client_config: tuple[str, ...], output: str, topics: tuple[str, ...],
           groups: tuple[str, ...], txn_ids: tuple[str, ...], cluster: bool, allow_principals: tuple[str, ...],
           deny_principals: tuple[str, ...], allow_hosts: tuple[str, ...], deny_hosts: tuple[str, ...],
           operations: tuple[str, ...], producer: bool, consumer: bool, idempotent: bool, pattern_type: str) -> None:
    """Remove the ACLs matching the flags from the named resources; prints what was removed."""
    from confluent_kafka.admin import (
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    resources = _named_resources(topics, groups, txn_ids, cluster)
    entries: list[tuple[str | None, str | None, str]] = [
        (p, h, perm) for p, h, perm in _principal_entries(allow_principals, deny_principals, allow_hosts, deny_hosts,
                                                          None)
    ] or [(None, None, "ANY")]
    targets = _targets(resources, operations, "ANY", producer, consumer, idempotent)
    filters = [
        AclBindingFilter(ResourceType[res.resource_type], res.name,
                         ResourcePatternType["LITERAL" if res.resource_type == "BROKER" else pattern_type.upper()],
                         principal, host, AclOperation[op], AclPermissionType[permission])
        for res, op in targets for principal, host, permission in entries
    ]
    admin = admin_client(bootstrap, client_config)
    removed: dict[str, Any] = {}
    problems = []
    for future in admin.delete_acls(filters, request_timeout=TIMEOUT_SECONDS).values():
        try:
            for binding in future.result(TIMEOUT_SECONDS):
                removed[str(binding)] = binding
        except Exception as exc:
            problems.append(f"cannot remove ACLs: {_reason(exc)}")
    if problems:
        raise fail("\n".join(problems))
    emit(_rows(removed.values()), COLUMNS, output, title="Removed")


def _reason(exc: BaseException) -> str:
    return error_text(exc)
