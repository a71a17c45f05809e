"""The enforcement helpers handlers share (broker/acls.py, authorized_operations.py), against Kafka's rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kafkalite.broker.acls import AclStore, acl_filter, authorized_by_resource_type, denied_error, denied_names
from kafkalite.broker.authorized_operations import CLUSTER, NOT_REQUESTED, described_cluster_operations
from kafkalite.broker.authorizer import AclBinding, Operation, PatternType, Permission, ResourceType
from kafkalite.errors import ErrorCode
from kafkalite.storage.metadata_log import MetadataLog

T, G, C = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER
LIT, PRE = PatternType.LITERAL, PatternType.PREFIXED
Op = Operation
ALLOW, DENY = Permission.ALLOW, Permission.DENY


def acl(rt: ResourceType, name: str, op: Operation, perm: Permission = ALLOW, pattern: PatternType = LIT,
        principal: str = "User:alice") -> AclBinding:
    return AclBinding(rt, name, pattern, principal, "*", op, perm)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AclStore]:
    acls = AclStore(MetadataLog(tmp_path / "acls.log"), True, super_users="User:admin")
    acls.log.open()
    yield acls
    acls.log.close()


def ctx(store: AclStore, principal: str = "User:alice") -> Any:
    return SimpleNamespace(state=SimpleNamespace(acls=store), peer="10.0.0.1:1234", principal=principal)


# Kafka's Authorizer.authorizeByResourceType (default method, used by StandardAuthorizer).
BY_TYPE = [
    ([], False),
    ([acl(T, "t", Op.WRITE)], True),
    ([acl(T, "t", Op.ALL)], True),
    ([acl(T, "t", Op.READ)], False),  # another operation
    ([acl(G, "t", Op.WRITE)], False),  # another resource type
    ([acl(T, "t", Op.WRITE, principal="User:bob")], False),
    ([acl(T, "t", Op.WRITE, principal="User:*")], True),
    ([acl(T, "t", Op.WRITE), acl(T, "t", Op.WRITE, DENY)], False),  # the same literal denied
    ([acl(T, "t", Op.WRITE), acl(T, "t", Op.WRITE, DENY, PRE)], False),  # a prefix of it denied
    ([acl(T, "team-a", Op.WRITE, pattern=PRE), acl(T, "team", Op.WRITE, DENY, PRE)], False),
    ([acl(T, "team", Op.WRITE, pattern=PRE), acl(T, "team-a", Op.WRITE, DENY, PRE)], True),  # narrower deny
    ([acl(T, "t", Op.WRITE), acl(T, "u", Op.WRITE, DENY)], True),  # a deny elsewhere
    ([acl(T, "*", Op.WRITE)], True),  # the wildcard
    ([acl(T, "*", Op.WRITE), acl(T, "*", Op.WRITE, DENY)], False),  # a wildcard deny wins
    ([acl(T, "t", Op.WRITE), acl(T, "*", Op.WRITE, DENY)], False),
]


@pytest.mark.parametrize(("bindings", "expected"), BY_TYPE)
def test_authorized_by_resource_type(store: AclStore, bindings: list[AclBinding], expected: bool) -> None:
    store.create(bindings)
    assert authorized_by_resource_type(ctx(store), Op.WRITE, T) is expected
    assert authorized_by_resource_type(ctx(store, "User:admin"), Op.WRITE, T)  # super user


def test_denied_helpers(store: AclStore) -> None:
    store.create([acl(T, "t", Op.READ), acl(G, "g", Op.READ)])
    alice = ctx(store)
    assert denied_names(alice, Op.READ, T, ["t", "u", "u"]) == {"u"}
    assert denied_names(alice, Op.DESCRIBE, T, ["t"]) == set()  # READ implies DESCRIBE
    assert denied_error(alice, Op.READ, G, "g") == 0
    assert denied_error(alice, Op.DELETE, G, "g") == ErrorCode.GROUP_AUTHORIZATION_FAILED
    assert denied_error(alice, Op.WRITE, ResourceType.TRANSACTIONAL_ID, "x") == (
        ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    )
    store.enabled = False  # no authorizer: nothing is denied
    assert denied_names(alice, Op.WRITE, T, ["u"]) == set()
    assert denied_error(alice, Op.DELETE, G, "g") == 0
    assert authorized_by_resource_type(alice, Op.WRITE, T)


def test_cluster_operations_need_describe(store: AclStore) -> None:
    alice = ctx(store)
    assert described_cluster_operations(alice, False) == NOT_REQUESTED
    store.create([acl(C, "kafka-cluster", Op.IDEMPOTENT_WRITE)])
    assert described_cluster_operations(alice, True) == 0  # allowed something, but not DESCRIBE
    store.create([acl(C, "kafka-cluster", Op.ALTER)])  # ALTER implies DESCRIBE
    assert described_cluster_operations(alice, True) == (1 << Op.IDEMPOTENT_WRITE) | (1 << Op.ALTER) | (
        1 << Op.DESCRIBE
    )
    assert described_cluster_operations(ctx(store, "User:admin"), True) == CLUSTER


def test_a_compaction_right_after_a_change_keeps_it(tmp_path: Path) -> None:
    """The log is compacted from the state after the change: the new bindings and deletions survive a replay."""
    path = tmp_path / "acls.log"
    store = AclStore(MetadataLog(path, compact_bytes=1), True)  # every change compacts
    store.log.open()
    store.create([acl(T, "a", Op.READ), acl(T, "b", Op.READ)])
    store.create([acl(T, "c", Op.READ)])
    store.delete([acl_filter(T, "a", LIT, None, None, Op.READ, ALLOW)])
    store.log.close()
    again = AclStore(MetadataLog(path), True)
    again.load(again.log.replay())
    assert list(again) == [acl(T, "b", Op.READ), acl(T, "c", Op.READ)]
