"""Kafka's ACL model and StandardAuthorizer decision, as a pure module (no I/O, no broker state).

The codes are the wire values of Kafka's AclOperation, ResourceType, PatternType and
AclPermissionType. ``Authorizer.authorize`` follows StandardAuthorizer: super users are allowed
everything; otherwise every binding on the resource (literal name, the literal ``*`` wildcard,
or a prefix of the name) is considered; a matching DENY wins over any ALLOW; ALLOW of
READ/WRITE/DELETE/ALTER implies DESCRIBE and ALLOW of ALTER_CONFIGS implies DESCRIBE_CONFIGS;
ALL matches every operation; a resource with no binding at all (for any principal) is allowed
only when ``allow.everyone.if.no.acl.found`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum


class ResourceType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14
    TWO_PHASE_COMMIT = 15


class Permission(IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


WILDCARD = "*"
WILDCARD_PRINCIPAL = "User:*"
CLUSTER_NAME = "kafka-cluster"

#: Class names that switch the authorizer on (the ZooKeeper-era name is taken as the same).
AUTHORIZER_CLASSES = frozenset(
    {"org.apache.kafka.metadata.authorizer.StandardAuthorizer", "kafka.security.authorizer.AclAuthorizer"}
)

#: An ALLOW of the key also allows these (Kafka's implied operations).
_IMPLIES: dict[Operation, frozenset[Operation]] = {
    Operation.READ: frozenset({Operation.DESCRIBE}),
    Operation.WRITE: frozenset({Operation.DESCRIBE}),
    Operation.DELETE: frozenset({Operation.DESCRIBE}),
    Operation.ALTER: frozenset({Operation.DESCRIBE}),
    Operation.ALTER_CONFIGS: frozenset({Operation.DESCRIBE_CONFIGS}),
}


@dataclass(frozen=True, order=True)
class AclBinding:
    """One ACL: a resource pattern and an access control entry."""

    resource_type: ResourceType
    name: str
    pattern_type: PatternType
    principal: str
    host: str
    operation: Operation
    permission: Permission

    def matches_resource(self, resource_type: ResourceType, name: str) -> bool:
        if self.resource_type != resource_type:
            return False
        if self.pattern_type == PatternType.LITERAL:
            return self.name == name or self.name == WILDCARD
        if self.pattern_type == PatternType.PREFIXED:
            return name.startswith(self.name)
        return False


@dataclass(frozen=True)
class AclFilter:
    """A DescribeAcls / DeleteAcls filter: None (or ANY) fields match everything."""

    resource_type: ResourceType = ResourceType.ANY
    name: str | None = None
    pattern_type: PatternType = PatternType.ANY
    principal: str | None = None
    host: str | None = None
    operation: Operation = Operation.ANY
    permission: Permission = Permission.ANY

    def matches(self, acl: AclBinding) -> bool:
        if self.resource_type != ResourceType.ANY and acl.resource_type != self.resource_type:
            return False
        if not self._matches_pattern(acl):
            return False
        if self.principal is not None and acl.principal != self.principal:
            return False
        if self.host is not None and acl.host != self.host:
            return False
        if self.operation != Operation.ANY and acl.operation != self.operation:
            return False
        return self.permission == Permission.ANY or acl.permission == self.permission

    def _matches_pattern(self, acl: AclBinding) -> bool:
        if self.pattern_type == PatternType.MATCH:
            # Every binding that would apply to the resource named by the filter.
            if self.name is None:
                return True
            if acl.pattern_type == PatternType.LITERAL:
                return acl.name == self.name or acl.name == WILDCARD
            return acl.pattern_type == PatternType.PREFIXED and self.name.startswith(acl.name)
        if self.pattern_type != PatternType.ANY and acl.pattern_type != self.pattern_type:
            return False
        return self.name is None or acl.name == self.name


def parse_super_users(value: str) -> frozenset[str]:
    """``super.users``: principals separated by semicolons."""
    return frozenset(p.strip() for p in value.split(";") if p.strip())


class Authorizer:
    """The decision over a set of bindings; the bindings' owner (acls.AclStore) keeps it current."""

    def __init__(self, super_users: Iterable[str] = (), allow_if_no_acl: bool = False) -> None:
        self.super_users = frozenset(super_users)
        self.allow_if_no_acl = allow_if_no_acl
        self._by_type: dict[ResourceType, set[AclBinding]] = {}

    def add(self, acl: AclBinding) -> None:
        self._by_type.setdefault(acl.resource_type, set()).add(acl)

    def remove(self, acl: AclBinding) -> None:
        self._by_type.get(acl.resource_type, set()).discard(acl)

    def authorize(
        self, principal: str, host: str, operation: Operation, resource_type: ResourceType, name: str
    ) -> bool:
        if principal in self.super_users:
            return True
        found = allowed = False
        for acl in self._by_type.get(resource_type, ()):
            if not acl.matches_resource(resource_type, name):
                continue
            found = True
            if acl.principal not in (principal, WILDCARD_PRINCIPAL) or acl.host not in (host, WILDCARD):
                continue
            if acl.permission == Permission.DENY:
                if acl.operation in (operation, Operation.ALL):
                    return False
            elif acl.permission == Permission.ALLOW and (
                acl.operation in (operation, Operation.ALL) or operation in _IMPLIES.get(acl.operation, ())
            ):
                allowed = True
        return allowed or (not found and self.allow_if_no_acl)

    def authorize_by_resource_type(
        self, principal: str, host: str, operation: Operation, resource_type: ResourceType
    ) -> bool:
        """Kafka's default ``authorizeByResourceType`` (used by StandardAuthorizer).

        A super user (or anyone a literal ``hardcode`` resource would allow) is allowed; a DENY of the
        literal wildcard denies; otherwise an ALLOW (literal or prefixed, the operation itself or
        ALL: no implied operations) allows unless a DENY of the same literal name or of a prefix of
        its name dominates it.
        """
        if self.authorize(principal, host, operation, resource_type, "hardcode"):
            return True
        deny_literal: set[str] = set()
        deny_prefixed: set[str] = set()
        allows: list[AclBinding] = []
        wildcard_allow = False
        for acl in self._by_type.get(resource_type, ()):
            if acl.host not in (host, WILDCARD) or acl.principal not in (principal, WILDCARD_PRINCIPAL):
                continue
            if acl.operation not in (operation, Operation.ALL):
                continue
            if acl.permission == Permission.DENY:
                if acl.pattern_type == PatternType.LITERAL:
                    if acl.name == WILDCARD:
                        return False
                    deny_literal.add(acl.name)
                elif acl.pattern_type == PatternType.PREFIXED:
                    deny_prefixed.add(acl.name)
            elif acl.permission == Permission.ALLOW and acl.pattern_type in (PatternType.LITERAL, PatternType.PREFIXED):
                if acl.pattern_type == PatternType.LITERAL and acl.name == WILDCARD:
                    wildcard_allow = True
                allows.append(acl)
        if wildcard_allow:
            return True
        for acl in allows:
            if acl.pattern_type == PatternType.LITERAL and acl.name in deny_literal:
                continue
            if not any(acl.name[:n] in deny_prefixed for n in range(1, len(acl.name) + 1)):
                return True
        return False
