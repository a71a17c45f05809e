"""The broker's ACLs: validation, the Authorizer kept current, and ``acls.log`` persistence.

Records-then-replay as the coordinators do: a CreateAcls appends one ``acl`` record per new
binding and a DeleteAcls one ``acl_delete`` (tombstone) per removed binding before answering;
on start the log is replayed. The log is rewritten from the live set when it grows large.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from kafkalite.broker.authorizer import (
    AUTHORIZER_CLASSES,
    CLUSTER_NAME,
    AclBinding,
    AclFilter,
    Authorizer,
    Operation,
    PatternType,
    Permission,
    ResourceType,
    parse_super_users,
)
from kafkalite.errors import ErrorCode
from kafkalite.storage.metadata_log import MetadataLog

_FIELDS = ("resource_type", "name", "pattern_type", "principal", "host", "operation", "permission")


def to_record(acl: AclBinding, kind: str = "acl") -> dict[str, Any]:
    return {
        "type": kind,
        "resource_type": int(acl.resource_type),
        "name": acl.name,
        "pattern_type": int(acl.pattern_type),
        "principal": acl.principal,
        "host": acl.host,
        "operation": int(acl.operation),
        "permission": int(acl.permission),
    }


def from_record(record: dict[str, Any]) -> AclBinding:
    return AclBinding(
        ResourceType(record["resource_type"]),
        record["name"],
        PatternType(record["pattern_type"]),
        record["principal"],
        record["host"],
        Operation(record["operation"]),
        Permission(record["permission"]),
    )


def _enum(kind: type[Any], value: int) -> Any:
    """An unknown wire value reads as UNKNOWN, as Kafka's fromCode does."""
    try:
        return kind(value)
    except ValueError:
        return kind(0)


def binding(resource_type: int, name: str, pattern_type: int, principal: str, host: str, operation: int,
            permission: int) -> AclBinding:
    return AclBinding(
        _enum(ResourceType, resource_type), name, _enum(PatternType, pattern_type), principal, host,
        _enum(Operation, operation), _enum(Permission, permission),
    )


def acl_filter(resource_type: int, name: str | None, pattern_type: int, principal: str | None, host: str | None,
               operation: int, permission: int) -> AclFilter:
    return AclFilter(
        _enum(ResourceType, resource_type), name, _enum(PatternType, pattern_type), principal, host,
        _enum(Operation, operation), _enum(Permission, permission),
    )


def has_unknown(item: AclBinding | AclFilter) -> bool:
    """An UNKNOWN element (or a code Kafka does not know): Kafka's request validation closes the connection."""
    return 0 in (item.resource_type, item.pattern_type, item.operation, item.permission)


def is_filter_only(acl: AclBinding) -> bool:
    """ANY or MATCH in a binding to create: Kafka fails the whole CreateAcls (UNKNOWN_SERVER_ERROR for each)."""
    return (
        acl.resource_type == ResourceType.ANY
        or acl.pattern_type in (PatternType.ANY, PatternType.MATCH)
        or acl.operation == Operation.ANY
        or acl.permission == Permission.ANY
    )


def validate_binding(acl: AclBinding) -> str | None:
    """Why Kafka refuses to create ``acl`` (answered INVALID_REQUEST for that binding), or None.

    Call after has_unknown / is_filter_only, which Kafka handles before (close, whole request).
    """
    if is_filter_only(acl) or has_unknown(acl):
        return "ACL bindings to create must not hold UNKNOWN, ANY or MATCH elements"
    if not acl.name:
        return "Resource name should not be empty"
    if acl.resource_type == ResourceType.CLUSTER and acl.name != CLUSTER_NAME:
        return f"The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
    if ":" not in acl.principal:
        return (
            f"Could not parse principal from `{acl.principal}` "
            "(no colon is present separating the principal type from the principal name)"
        )
    return None


def authorizer_enabled(class_name: str) -> bool:
    """``authorizer.class.name``: empty is off; Kafka's authorizer class names are on."""
    name = class_name.strip()
    if not name:
        return False
    if name not in AUTHORIZER_CLASSES:
        raise ValueError(
            f"authorizer.class.name={name} is not supported: use "
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer (or leave it empty)"
        )
    return True


class AclStore:
    """The set of bindings, its Authorizer, and its log; ``enabled`` is False without an authorizer."""

    def __init__(self, log: MetadataLog, enabled: bool, super_users: str = "", allow_if_no_acl: bool = False,
                 fsync: bool = False) -> None:
        self.log = log
        self.enabled = enabled
        self.fsync = fsync
        self.authorizer = Authorizer(parse_super_users(super_users), allow_if_no_acl)
        self.acls: set[AclBinding] = set()

    def load(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            acl = from_record(record)
            if record.get("type") == "acl_delete":
                self._drop(acl)
            else:
                self._put(acl)

    def _put(self, acl: AclBinding) -> None:
        self.acls.add(acl)
        self.authorizer.add(acl)

    def _drop(self, acl: AclBinding) -> None:
        self.acls.discard(acl)
        self.authorizer.remove(acl)

    def create(self, acls: list[AclBinding]) -> None:
        """Add valid bindings (already present ones are no-ops, as in Kafka); durable before return."""
        fresh = list(dict.fromkeys(a for a in acls if a not in self.acls))
        if not fresh:
            return
        self.log.append_durably([to_record(a) for a in fresh], self.fsync)  # OSError: nothing changed
        for acl in fresh:
            self._put(acl)
        self.log.compact_quietly(self.snapshot)  # after the change: the snapshot must hold it

    def matching(self, flt: AclFilter) -> list[AclBinding]:
        return sorted(a for a in self.acls if flt.matches(a))

    def delete(self, filters: list[AclFilter]) -> list[list[AclBinding]]:
        """Remove what each filter matches; a binding matched by several filters is reported by each."""
        found = [self.matching(f) for f in filters]
        gone = list(dict.fromkeys(a for acls in found for a in acls))
        if gone:
            self.log.append_durably([to_record(a, "acl_delete") for a in gone], self.fsync)  # OSError: nothing
            for acl in gone:
                self._drop(acl)
            self.log.compact_quietly(self.snapshot)
        return found

    def snapshot(self) -> list[dict[str, Any]]:
        return [to_record(a) for a in sorted(self.acls)]

    def __iter__(self) -> Iterator[AclBinding]:
        return iter(sorted(self.acls))


ANONYMOUS = "User:ANONYMOUS"


def principal_of(ctx: Any) -> str:
    """The request's principal: plaintext connections (no ``principal`` on the context) are User:ANONYMOUS."""
    return getattr(ctx, "principal", None) or ANONYMOUS


def host_of(peer: str) -> str:
    """The client's address from a ``host:port`` peer (IPv6 ``[a:b]:port`` or bare ``a:b:port`` too)."""
    host = peer.rsplit(":", 1)[0] if ":" in peer else peer
    return host.strip("[]")


def authorized(ctx: Any, operation: Operation, resource_type: ResourceType, name: str) -> bool:
    """The check enforcement will call from handlers: always True while no authorizer is configured."""
    store: AclStore = ctx.state.acls
    if not store.enabled:
        return True
    return store.authorizer.authorize(principal_of(ctx), host_of(ctx.peer), operation, resource_type, name)


#: The error a request gets when the principal may not act on a resource of the type.
DENIED_ERRORS: dict[ResourceType, ErrorCode] = {
    ResourceType.TOPIC: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
    ResourceType.GROUP: ErrorCode.GROUP_AUTHORIZATION_FAILED,
    ResourceType.CLUSTER: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
    ResourceType.TRANSACTIONAL_ID: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    ResourceType.DELEGATION_TOKEN: ErrorCode.DELEGATION_TOKEN_AUTHORIZATION_FAILED,
}


def authorized_names(ctx: Any, operation: Operation, resource_type: ResourceType, names: Iterable[str]) -> set[str]:
    """The subset of ``names`` the request's principal may act on (all of them without an authorizer)."""
    if not ctx.state.acls.enabled:
        return set(names)
    return {name for name in names if authorized(ctx, operation, resource_type, name)}


def authorized_cluster(ctx: Any, operation: Operation) -> bool:
    """An operation on the cluster resource (``kafka-cluster``)."""
    return authorized(ctx, operation, ResourceType.CLUSTER, CLUSTER_NAME)


# ---- admin API enforcement (KafkaApis / ControllerApis / ConfigHelper as Kafka 4.4) ----------

#: Kafka's ``Errors`` message for each authorization failure (what ``new ApiError(error)`` carries).
DENIED_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.TOPIC_AUTHORIZATION_FAILED: "Topic authorization failed.",
    ErrorCode.GROUP_AUTHORIZATION_FAILED: "Group authorization failed.",
    ErrorCode.CLUSTER_AUTHORIZATION_FAILED: "Cluster authorization failed.",
    ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "Transactional Id authorization failed.",
}

#: ConfigResource.Type codes: which ACL resource guards each (Kafka's ConfigHelper and
#: ControllerApis.authorizeAlterResource); BROKER, BROKER_LOGGER and CLIENT_METRICS need the cluster.
CONFIG_TOPIC, CONFIG_BROKER, CONFIG_BROKER_LOGGER, CONFIG_CLIENT_METRICS, CONFIG_GROUP = 2, 4, 8, 16, 32
_CONFIG_ACL_TYPES: dict[int, ResourceType] = {
    CONFIG_TOPIC: ResourceType.TOPIC,
    CONFIG_BROKER: ResourceType.CLUSTER,
    CONFIG_BROKER_LOGGER: ResourceType.CLUSTER,
    CONFIG_CLIENT_METRICS: ResourceType.CLUSTER,
    CONFIG_GROUP: ResourceType.GROUP,
}


def config_resource_denied(ctx: Any, operation: Operation, config_type: int, name: str) -> ErrorCode | None:
    """The error a config resource answers when ``operation`` (DESCRIBE_CONFIGS / ALTER_CONFIGS) is denied.

    None when allowed, and for resource types Kafka does not authorize (they fail validation instead).
    """
    acl_type = _CONFIG_ACL_TYPES.get(config_type)
    if acl_type is None:
        return None
    acl_name = CLUSTER_NAME if acl_type == ResourceType.CLUSTER else name
    return None if authorized(ctx, operation, acl_type, acl_name) else DENIED_ERRORS[acl_type]


def cluster_denied_message(ctx: Any, operation: Operation) -> str:
    """The message of Kafka's ClusterAuthorizationException from ``authorizeClusterOperation``.

    Kafka 4.4 writes ``Request <its request object> needs <OPERATION> permission.``; kafkalite
    describes its own connection in the parentheses (Kafka's are its network layer's internals).
    """
    session = getattr(ctx, "session", None)
    listener = session.listener if session is not None else "PLAINTEXT"
    return (
        f"Request Request(connectionId={ctx.peer}, listenerName=ListenerName({listener}), "
        f"principal={principal_of(ctx)}) needs {operation.name} permission."
    )


def config_denied_message(code: ErrorCode) -> str | None:
    """AlterConfigs / IncrementalAlterConfigs: topics carry Kafka's message, broker resources none (as 4.4)."""
    return None if code == ErrorCode.CLUSTER_AUTHORIZATION_FAILED else DENIED_MESSAGES[code]


# ---- data, group and transaction API enforcement (authz-data) ------------------------------


def denied_names(ctx: Any, operation: Operation, resource_type: ResourceType, names: Iterable[str]) -> set[str]:
    """The names of ``names`` the principal may NOT act on: empty without an authorizer.

    Kafka's handlers filter a request's resources once (AuthHelper.filterByAuthorized) and answer
    the refused ones with DENIED_ERRORS[type]; asking for the refused set keeps the common case
    (everything allowed) a falsy test in the handler.
    """
    if not ctx.state.acls.enabled:
        return set()
    return {name for name in set(names) if not authorized(ctx, operation, resource_type, name)}


def authorized_by_resource_type(ctx: Any, operation: Operation, resource_type: ResourceType) -> bool:
    """Kafka's Authorizer.authorizeByResourceType: may the principal ``operation`` on *some* resource of the type?

    Used by InitProducerId: an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on any topic.
    """
    store: AclStore = ctx.state.acls
    if not store.enabled:
        return True
    return store.authorizer.authorize_by_resource_type(principal_of(ctx), host_of(ctx.peer), operation, resource_type)


def denied_error(ctx: Any, operation: Operation, resource_type: ResourceType, name: str) -> int:
    """0 when the principal may ``operation`` on the resource, else the type's error code (DENIED_ERRORS)."""
    if not ctx.state.acls.enabled or authorized(ctx, operation, resource_type, name):
        return 0
    return int(DENIED_ERRORS[resource_type])
