"""The StandardAuthorizer rules of kafkalite.broker.authorizer, table-driven, and ACL persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkalite.broker.acls import AclStore, validate_binding
from kafkalite.broker.authorizer import (
    AclBinding,
    AclFilter,
    Authorizer,
    Operation,
    PatternType,
    Permission,
    ResourceType,
    parse_super_users,
)
from kafkalite.storage.metadata_log import MetadataLog

T, G, C = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER
LIT, PRE = PatternType.LITERAL, PatternType.PREFIXED
O = Operation
ALLOW, DENY = Permission.ALLOW, Permission.DENY


def acl(rt: ResourceType, name: str, op: Operation, perm: Permission = ALLOW, pattern: PatternType = LIT,
        principal: str = "User:alice", host: str = "*") -> AclBinding:
    return AclBinding(rt, name, pattern, principal, host, op, perm)


# (bindings, principal, host, operation, resource type, name, expected)
CASES = [
    ([], "User:alice", "1.2.3.4", O.READ, T, "t", False),  # no ACL: denied by default
    ([acl(T, "t", O.READ)], "User:alice", "h", O.READ, T, "t", True),
    ([acl(T, "t", O.READ)], "User:bob", "h", O.READ, T, "t", False),  # other principal
    ([acl(T, "t", O.READ)], "User:alice", "h", O.WRITE, T, "t", False),
    ([acl(T, "t", O.READ)], "User:alice", "h", O.READ, T, "u", False),  # other topic
    ([acl(T, "t", O.READ)], "User:alice", "h", O.READ, G, "t", False),  # other resource type
    ([acl(T, "*", O.READ)], "User:alice", "h", O.READ, T, "anything", True),  # wildcard resource
    ([acl(T, "t", O.READ, principal="User:*")], "User:zed", "h", O.READ, T, "t", True),  # wildcard principal
    ([acl(T, "t", O.READ, host="10.0.0.1")], "User:alice", "10.0.0.2", O.READ, T, "t", False),
    ([acl(T, "t", O.READ, host="10.0.0.1")], "User:alice", "10.0.0.1", O.READ, T, "t", True),
    ([acl(T, "pre", O.WRITE, pattern=PRE)], "User:alice", "h", O.WRITE, T, "prefix-topic", True),
    ([acl(T, "pre", O.WRITE, pattern=PRE)], "User:alice", "h", O.WRITE, T, "pr", False),
    ([acl(T, "*", O.WRITE, pattern=PRE)], "User:alice", "h", O.WRITE, T, "t", False),  # '*' prefix is literal
    ([acl(T, "t", O.READ), acl(T, "t", O.READ, DENY)], "User:alice", "h", O.READ, T, "t", False),  # DENY wins
    ([acl(T, "*", O.ALL), acl(T, "t", O.WRITE, DENY, principal="User:*")], "User:alice", "h", O.WRITE, T, "t",
     False),
    ([acl(T, "t", O.ALL, DENY), acl(T, "t", O.READ)], "User:alice", "h", O.DESCRIBE, T, "t", False),
    ([acl(T, "t", O.READ, DENY), acl(T, "t", O.DESCRIBE)], "User:alice", "h", O.DESCRIBE, T, "t", True),
    ([acl(T, "t", O.ALL)], "User:alice", "h", O.DELETE, T, "t", True),
    ([acl(T, "t", O.READ)], "User:alice", "h", O.DESCRIBE, T, "t", True),  # implied
    ([acl(T, "t", O.WRITE)], "User:alice", "h", O.DESCRIBE, T, "t", True),
    ([acl(T, "t", O.DELETE)], "User:alice", "h", O.DESCRIBE, T, "t", True),
    ([acl(T, "t", O.ALTER)], "User:alice", "h", O.DESCRIBE, T, "t", True),
    ([acl(T, "t", O.CREATE)], "User:alice", "h", O.DESCRIBE, T, "t", False),
    ([acl(T, "t", O.DESCRIBE)], "User:alice", "h", O.READ, T, "t", False),  # not the other way
    ([acl(T, "t", O.ALTER_CONFIGS)], "User:alice", "h", O.DESCRIBE_CONFIGS, T, "t", True),
    ([acl(T, "t", O.ALTER_CONFIGS)], "User:alice", "h", O.DESCRIBE, T, "t", False),
    ([acl(C, "kafka-cluster", O.IDEMPOTENT_WRITE)], "User:alice", "h", O.IDEMPOTENT_WRITE, C, "kafka-cluster", True),
]


@pytest.mark.parametrize(("bindings", "principal", "host", "op", "rt", "name", "expected"), CASES)
def test_authorize(bindings: list[AclBinding], principal: str, host: str, op: Operation, rt: ResourceType,
                   name: str, expected: bool) -> None:
    authorizer = Authorizer()
    for b in bindings:
        authorizer.add(b)
    assert authorizer.authorize(principal, host, op, rt, name) is expected


def test_super_users_and_allow_if_no_acl() -> None:
    assert parse_super_users("User:admin; User:ANONYMOUS;") == {"User:admin", "User:ANONYMOUS"}
    authorizer = Authorizer(parse_super_users("User:admin;User:ops"))
    authorizer.add(acl(T, "t", O.ALL, DENY, principal="User:*"))
    assert authorizer.authorize("User:ops", "h", O.WRITE, T, "t")  # super users skip even DENY
    assert not authorizer.authorize("User:alice", "h", O.WRITE, T, "u")
    open_authorizer = Authorizer(allow_if_no_acl=True)
    assert open_authorizer.authorize("User:alice", "h", O.WRITE, T, "u")
    # Any binding on the resource, even for someone else, takes the resource out of "no ACL found".
    open_authorizer.add(acl(T, "u", O.READ, principal="User:bob"))
    assert not open_authorizer.authorize("User:alice", "h", O.WRITE, T, "u")
    open_authorizer.add(acl(T, "v", O.READ, pattern=PRE, principal="User:bob"))
    assert not open_authorizer.authorize("User:alice", "h", O.WRITE, T, "v1")


def test_filters() -> None:
    lit, star, pre = acl(T, "topic1", O.READ), acl(T, "*", O.WRITE), acl(T, "top", O.READ, pattern=PRE)
    other = acl(G, "topic1", O.READ, principal="User:bob", host="10.0.0.1")
    acls = [lit, star, pre, other]

    def match(flt: AclFilter) -> set[AclBinding]:
        return {a for a in acls if flt.matches(a)}

    assert match(AclFilter()) == set(acls)
    assert match(AclFilter(T, "topic1", PatternType.MATCH)) == {lit, star, pre}
    assert match(AclFilter(T, "topic1", PatternType.ANY)) == {lit}
    assert match(AclFilter(T, None, PatternType.PREFIXED)) == {pre}
    assert match(AclFilter(ResourceType.ANY, "topic1")) == {lit, other}
    assert match(AclFilter(principal="User:bob")) == {other}
    assert match(AclFilter(host="10.0.0.1")) == {other}
    assert match(AclFilter(operation=O.WRITE)) == {star}
    assert match(AclFilter(permission=DENY)) == set()


@pytest.mark.parametrize(
    ("binding", "problem"),
    [
        (acl(ResourceType.ANY, "t", O.READ), "Invalid resourceType ANY"),
        (acl(T, "t", O.READ, pattern=PatternType.MATCH), "Invalid patternType MATCH"),
        (acl(T, "t", O.ANY), "Invalid operation ANY"),
        (acl(T, "t", O.READ, Permission.UNKNOWN), "Invalid permissionType UNKNOWN"),
        (acl(T, "", O.READ), "Resource name should not be empty"),
        (acl(C, "other", O.ALTER), "The only valid name for the CLUSTER resource is kafka-cluster"),
        (acl(T, "t", O.READ, principal="alice"), "Could not parse principal"),
        (acl(T, "t", O.READ), None),
    ],
)
def test_validate_binding(binding: AclBinding, problem: str | None) -> None:
    found = validate_binding(binding)
    assert found == problem if problem is None else found is not None and found.startswith(problem)


def test_store_persists_and_replays(tmp_path: Path) -> None:
    def open_store() -> AclStore:
        log = MetadataLog(tmp_path / "acls.log")
        store = AclStore(log, True)
        store.load(log.replay())
        log.open()
        return store

    store = open_store()
    a, b = acl(T, "t", O.READ), acl(G, "g", O.READ, pattern=PRE)
    store.create([a, b, a])
    assert store.delete([AclFilter(G)]) == [[b]]
    store.log.close()
    again = open_store()
    assert set(again) == {a}
    assert again.authorizer.authorize("User:alice", "h", O.DESCRIBE, T, "t")
    assert not again.authorizer.authorize("User:alice", "h", O.READ, G, "g1")
    again.log.close()
