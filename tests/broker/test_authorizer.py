"""The StandardAuthorizer rules of kafkalite.broker.authorizer, table-driven, and ACL persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from kafkalite.broker.acls import AclStore, has_unknown, is_filter_only, validate_binding
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
Op = Operation
ALLOW, DENY = Permission.ALLOW, Permission.DENY


def acl(rt: ResourceType, name: str, op: Operation, perm: Permission = ALLOW, pattern: PatternType = LIT,
        principal: str = "User:alice", host: str = "*") -> AclBinding:
    return AclBinding(rt, name, pattern, principal, host, op, perm)


# (bindings, principal, host, operation, resource type, name, expected)
CASES = [
    ([], "User:alice", "1.2.3.4", Op.READ, T, "t", False),  # no ACL: denied by default
    ([acl(T, "t", Op.READ)], "User:alice", "h", Op.READ, T, "t", True),
    ([acl(T, "t", Op.READ)], "User:bob", "h", Op.READ, T, "t", False),  # other principal
    ([acl(T, "t", Op.READ)], "User:alice", "h", Op.WRITE, T, "t", False),
    ([acl(T, "t", Op.READ)], "User:alice", "h", Op.READ, T, "u", False),  # other topic
    ([acl(T, "t", Op.READ)], "User:alice", "h", Op.READ, G, "t", False),  # other resource type
    ([acl(T, "*", Op.READ)], "User:alice", "h", Op.READ, T, "anything", True),  # wildcard resource
    ([acl(T, "t", Op.READ, principal="User:*")], "User:zed", "h", Op.READ, T, "t", True),  # wildcard principal
    ([acl(T, "t", Op.READ, host="10.0.0.1")], "User:alice", "10.0.0.2", Op.READ, T, "t", False),
    ([acl(T, "t", Op.READ, host="10.0.0.1")], "User:alice", "10.0.0.1", Op.READ, T, "t", True),
    ([acl(T, "pre", Op.WRITE, pattern=PRE)], "User:alice", "h", Op.WRITE, T, "prefix-topic", True),
    ([acl(T, "pre", Op.WRITE, pattern=PRE)], "User:alice", "h", Op.WRITE, T, "pr", False),
    ([acl(T, "*", Op.WRITE, pattern=PRE)], "User:alice", "h", Op.WRITE, T, "t", False),  # '*' prefix is literal
    ([acl(T, "t", Op.READ), acl(T, "t", Op.READ, DENY)], "User:alice", "h", Op.READ, T, "t", False),  # DENY wins
    ([acl(T, "*", Op.ALL), acl(T, "t", Op.WRITE, DENY, principal="User:*")], "User:alice", "h", Op.WRITE, T, "t",
     False),
    ([acl(T, "t", Op.ALL, DENY), acl(T, "t", Op.READ)], "User:alice", "h", Op.DESCRIBE, T, "t", False),
    ([acl(T, "t", Op.READ, DENY), acl(T, "t", Op.DESCRIBE)], "User:alice", "h", Op.DESCRIBE, T, "t", True),
    ([acl(T, "t", Op.ALL)], "User:alice", "h", Op.DELETE, T, "t", True),
    ([acl(T, "t", Op.READ)], "User:alice", "h", Op.DESCRIBE, T, "t", True),  # implied
    ([acl(T, "t", Op.WRITE)], "User:alice", "h", Op.DESCRIBE, T, "t", True),
    ([acl(T, "t", Op.DELETE)], "User:alice", "h", Op.DESCRIBE, T, "t", True),
    ([acl(T, "t", Op.ALTER)], "User:alice", "h", Op.DESCRIBE, T, "t", True),
    ([acl(T, "t", Op.CREATE)], "User:alice", "h", Op.DESCRIBE, T, "t", False),
    ([acl(T, "t", Op.DESCRIBE)], "User:alice", "h", Op.READ, T, "t", False),  # not the other way
    ([acl(T, "t", Op.ALTER_CONFIGS)], "User:alice", "h", Op.DESCRIBE_CONFIGS, T, "t", True),
    ([acl(T, "t", Op.ALTER_CONFIGS)], "User:alice", "h", Op.DESCRIBE, T, "t", False),
    ([acl(C, "kafka-cluster", Op.IDEMPOTENT_WRITE)], "User:alice", "h", Op.IDEMPOTENT_WRITE, C, "kafka-cluster", True),
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
    authorizer.add(acl(T, "t", Op.ALL, DENY, principal="User:*"))
    assert authorizer.authorize("User:ops", "h", Op.WRITE, T, "t")  # super users skip even DENY
    assert not authorizer.authorize("User:alice", "h", Op.WRITE, T, "u")
    open_authorizer = Authorizer(allow_if_no_acl=True)
    assert open_authorizer.authorize("User:alice", "h", Op.WRITE, T, "u")
    # Any binding on the resource, even for someone else, takes the resource out of "no ACL found".
    open_authorizer.add(acl(T, "u", Op.READ, principal="User:bob"))
    assert not open_authorizer.authorize("User:alice", "h", Op.WRITE, T, "u")
    open_authorizer.add(acl(T, "v", Op.READ, pattern=PRE, principal="User:bob"))
    assert not open_authorizer.authorize("User:alice", "h", Op.WRITE, T, "v1")


def test_filters() -> None:
    lit, star, pre = acl(T, "topic1", Op.READ), acl(T, "*", Op.WRITE), acl(T, "top", Op.READ, pattern=PRE)
    other = acl(G, "topic1", Op.READ, principal="User:bob", host="10.0.0.1")
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
    assert match(AclFilter(operation=Op.WRITE)) == {star}
    assert match(AclFilter(permission=DENY)) == set()


@pytest.mark.parametrize(
    ("binding", "problem"),
    [
        (acl(ResourceType.ANY, "t", Op.READ), "ACL bindings to create must not"),
        (acl(T, "", Op.READ), "Resource name should not be empty"),
        (acl(C, "other", Op.ALTER), "The only valid name for the CLUSTER resource is kafka-cluster"),
        (acl(T, "t", Op.READ, principal="alice"), "Could not parse principal"),
        (acl(T, "t", Op.READ), None),
    ],
)
def test_validate_binding(binding: AclBinding, problem: str | None) -> None:
    found = validate_binding(binding)
    assert found == problem if problem is None else found is not None and found.startswith(problem)


def test_unknown_and_filter_only_elements() -> None:
    """Kafka closes the connection for UNKNOWN elements and fails the request for ANY/MATCH ones."""
    assert has_unknown(acl(T, "t", Op.UNKNOWN)) and has_unknown(AclFilter(pattern_type=PatternType.UNKNOWN))
    assert not has_unknown(AclFilter())
    assert is_filter_only(acl(T, "t", Op.READ, pattern=PatternType.MATCH))
    assert is_filter_only(acl(T, "t", Op.READ, Permission.ANY))
    assert not is_filter_only(acl(T, "t", Op.READ))


def test_store_persists_and_replays(tmp_path: Path) -> None:
    def open_store() -> AclStore:
        log = MetadataLog(tmp_path / "acls.log")
        store = AclStore(log, True)
        store.load(log.replay())
        log.open()
        return store

    store = open_store()
    a, b = acl(T, "t", Op.READ), acl(G, "g", Op.READ, pattern=PRE)
    store.create([a, b, a])
    assert store.delete([AclFilter(G)]) == [[b]]
    store.log.close()
    again = open_store()
    assert set(again) == {a}
    assert again.authorizer.authorize("User:alice", "h", Op.DESCRIBE, T, "t")
    assert not again.authorizer.authorize("User:alice", "h", Op.READ, G, "g1")
    again.log.close()


def test_request_context_helpers(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from kafkalite.broker.acls import authorized, host_of, principal_of
    from kafkalite.config import BrokerConfig, ConfigError

    assert host_of("127.0.0.1:5555") == "127.0.0.1" and host_of("[::1]:5555") == "::1"
    assert principal_of(SimpleNamespace()) == "User:ANONYMOUS"
    assert principal_of(SimpleNamespace(principal="User:alice")) == "User:alice"
    store = AclStore(MetadataLog(tmp_path / "acls.log"), False)
    ctx = SimpleNamespace(state=SimpleNamespace(acls=store), peer="10.0.0.1:1234")
    assert authorized(ctx, Op.WRITE, T, "t")  # no authorizer: everything allowed, as today
    store.enabled = True
    store.log.open()
    assert not authorized(ctx, Op.WRITE, T, "t")
    store.create([acl(T, "t", Op.WRITE, principal="User:ANONYMOUS", host="10.0.0.1")])
    assert authorized(ctx, Op.WRITE, T, "t")
    store.log.close()
    with pytest.raises(ConfigError):
        BrokerConfig.from_properties({"authorizer.class.name": "com.example.MyAuthorizer"})
    config = BrokerConfig.from_properties({"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer"})
    assert config.get("authorizer.class.name") == "kafka.security.authorizer.AclAuthorizer"
