"""ScramStore: Kafka's Alter/Describe rules and answers (order included), scram.log replay, initial users,
and the two handlers with their CLUSTER ACL checks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.handlers.registry import RequestContext, Session
from kafkalite.broker.handlers.user_scram_credentials import (
    handle_alter_user_scram_credentials,
    handle_describe_user_scram_credentials,
)
from kafkalite.broker.scram_store import (
    ScramStore,
    Upsertion,
    java_hash_order,
    java_string_hash,
    parse_add_scram,
    split_add_scram_setting,
)
from kafkalite.clock import ManualClock
from kafkalite.config import BrokerConfig, ConfigError
from kafkalite.protocol.header import RequestHeader
from kafkalite.security.scram import ScramServer, salted_password
from kafkalite.storage.metadata_log import MetadataLog

SALT = b"saltsalt"


def up(name: str, mechanism: int, iterations: int, salted: bytes | None = None) -> Upsertion:
    if salted is None:
        salted = salted_password("SCRAM-SHA-256" if mechanism != 2 else "SCRAM-SHA-512", "pw", SALT, max(iterations, 1))
    return Upsertion(name, mechanism, iterations, SALT, salted)


def open_store(path: Path, fsync: bool = False) -> ScramStore:
    log = MetadataLog(path / "scram.log")
    store = ScramStore(log, fsync=fsync)
    store.load(log.replay())
    log.open()
    return store


def test_java_string_hash_matches_java() -> None:
    # Values of "".hashCode(), "a".hashCode(), "hello".hashCode() and a negative one in Java.
    assert java_string_hash("") == 0
    assert java_string_hash("a") == 97
    assert java_string_hash("hello") == 99162322
    assert java_string_hash("polygenelubricants") == (-2147483648) & 0xFFFFFFFF


def test_alter_answers_as_kafka(tmp_path: Path) -> None:
    """The request and answer seen from Apache Kafka 4.4 (results in its HashMap order)."""
    store = open_store(tmp_path)
    deletions = [("frank", 1), ("gina", 1), ("", 1), ("kim", 0), ("kim2", 7)]
    upsertions = [
        up("alice", 1, 4096), up("bob", 2, 8192), up("carol", 1, 4095), up("dave", 2, 16385), up("", 1, 4096),
        up("erin", 0, 4096), up("erin3", 3, 4096), up("gina", 1, 4096), up("hank", 1, 4096), up("hank", 2, 4096),
        up("ivy", 1, 4096, b""), up("jo,e=x", 1, 16384), up("zed", 1, 4096), up("Zed", 2, 5000),
        *(up(f"user{i}", 1, 4096) for i in range(10, 15)),
    ]
    dup = "A user credential cannot be altered twice in the same request"
    assert store.alter(deletions, upsertions) == [
        ("user11", 0, None), ("user10", 0, None), ("bob", 0, None), ("user14", 0, None), ("user13", 0, None),
        ("user12", 0, None), ("zed", 0, None), ("Zed", 0, None), ("alice", 0, None), ("jo,e=x", 0, None),
        ("frank", 91, "Attempt to delete a user credential that does not exist"),
        ("", 93, "Username must not be empty"),
        ("kim2", 33, "Unknown SCRAM mechanism"),
        ("carol", 93, "Too few iterations"),
        ("dave", 93, "Too many iterations"),
        ("gina", 91, "Attempt to delete a user credential that does not exist"),
        ("erin3", 33, "Unknown SCRAM mechanism"),
        ("hank", 92, dup),
        ("erin", 33, "Unknown SCRAM mechanism"),
        ("ivy", -1, None),
        ("kim", 33, "Unknown SCRAM mechanism"),
    ]
    assert store.lookup("bob", "SCRAM-SHA-512") is not None
    assert store.lookup("bob", "SCRAM-SHA-256") is None
    assert store.lookup("carol", "SCRAM-SHA-256") is None
    assert store.alter([("alice", 1), ("bob", 1)], []) == [
        ("alice", 0, None), ("bob", 91, "Attempt to delete a user credential that does not exist"),
    ]
    assert store.lookup("alice", "SCRAM-SHA-256") is None


def test_describe_answers_as_kafka(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.alter([], [up("alice", 1, 4096), up("bob", 2, 8192)])
    store.alter([], [up("alice", 2, 10000)])
    results = store.describe(["alice", "bob", "nobody", "alice", ""])
    assert [(r["user"], r["error_code"], r["error_message"]) for r in results] == [
        ("", 91, "Attempt to describe a user credential that does not exist: "),
        ("bob", 0, ""),
        ("alice", 92, "Cannot describe SCRAM credentials for the same user twice in a single request: alice"),
        ("nobody", 91, "Attempt to describe a user credential that does not exist: nobody"),
    ]
    assert results[1]["credential_infos"] == [{"mechanism": 2, "iterations": 8192}]
    everyone = {r["user"]: r["credential_infos"] for r in store.describe(None)}
    assert everyone == {
        "alice": [{"mechanism": 1, "iterations": 4096}, {"mechanism": 2, "iterations": 10000}],
        "bob": [{"mechanism": 2, "iterations": 8192}],
    }
    assert store.describe([]) == store.describe(None)


def test_credentials_survive_replay_and_log_holds_no_password(tmp_path: Path) -> None:
    store = open_store(tmp_path, fsync=True)
    store.alter([], [up("alice", 1, 4096), up("bob", 2, 8192)])
    store.alter([("bob", 2)], [])
    store.log.close()
    assert b"pw" not in (tmp_path / "scram.log").read_bytes()
    again = open_store(tmp_path)
    assert again.lookup("alice", "SCRAM-SHA-256") == store.lookup("alice", "SCRAM-SHA-256")
    assert again.lookup("bob", "SCRAM-SHA-512") is None
    # and a login works with the replayed credential
    server = ScramServer("SCRAM-SHA-256", again.lookup)
    assert server.evaluate(b"n,,n=alice,r=abc").startswith(b"r=abc")


def test_add_scram_entries_parse_as_kafka() -> None:
    name, cred = parse_add_scram('SCRAM-SHA-512=[name=alice,iterations=8192,salt="c2FsdA==",password=x]')
    assert (name, cred.mechanism, cred.iterations, cred.salt) == ("alice", "SCRAM-SHA-512", 8192, b"salt")
    name, cred = parse_add_scram("SCRAM-SHA-256=[name=bob,password=alice-secret]")
    assert cred.iterations == 4096 and len(cred.salt) > 0
    salted = salted_password("SCRAM-SHA-256", "pw", b"salt", 4096)
    import base64

    _, from_salted = parse_add_scram(
        f"SCRAM-SHA-256=[name=c,salt=c2FsdA==,saltedpassword={base64.b64encode(salted).decode()}]"
    )
    _, from_password = parse_add_scram("SCRAM-SHA-256=[name=c,salt=c2FsdA==,password=pw]")
    assert from_salted == from_password


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("SCRAM-SHA-256", "Failed to find equals sign in SCRAM argument 'SCRAM-SHA-256'"),
        ("SCRAM-SHA-1=[name=a,password=b]", "The add-scram mechanism SCRAM-SHA-1 is not supported."),
        ("SCRAM-SHA-256=name=a,password=b]", "Expected configuration string to start with ["),
        ("SCRAM-SHA-256=[name=a,password=b", "Expected configuration string to end with ]"),
        ("SCRAM-SHA-256=[password=b]", "You must supply 'name' to add-scram"),
        ("SCRAM-SHA-256=[name=a]", "You must supply one of 'password' or 'saltedpassword' to add-scram"),
        ("SCRAM-SHA-256=[name=a,saltedpassword=YQ==]", "You must supply 'salt' with 'saltedpassword' to add-scram"),
        ("SCRAM-SHA-256=[name=a,password=b,colour=red]", "Unknown SCRAM configurations: colour"),
        ("SCRAM-SHA-256=[name=a,password=b,iterations=x]", "Failed to parse iterations count: x"),
        ("SCRAM-SHA-256=[name=a,password=b,iterations=4095]",
         "The 'iterations' value must be >= 4096 for add-scram using SCRAM_SHA_256"),
        ("SCRAM-SHA-256=[name=a,password=b,iterations=16385]",
         "The 'iterations' value must be <= 16384 for add-scram using SCRAM_SHA_256"),
        ("SCRAM-SHA-256=[name=a,password=b,salt=%%]", "Failed to decode given salt: %%"),
        ("SCRAM-SHA-256=[name=a,password]", "No equals sign found in SCRAM component: password"),
    ],
)
def test_add_scram_refusals_carry_kafkas_messages(entry: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_add_scram(entry)
    assert str(info.value) == message


def test_setting_splits_on_semicolons_outside_brackets() -> None:
    assert split_add_scram_setting(" SCRAM-SHA-256=[name=a,password=x;y] ; SCRAM-SHA-512=[name=b,password=z];") == [
        "SCRAM-SHA-256=[name=a,password=x;y]", "SCRAM-SHA-512=[name=b,password=z]",
    ]


def broker_state(tmp_path: Path, **settings: str) -> BrokerState:
    config = BrokerConfig.from_properties({"log.dirs": str(tmp_path / "data"), **settings})
    state = BrokerState(config, ManualClock())
    state.open()
    return state


def test_initial_users_only_where_no_credential_yet(tmp_path: Path) -> None:
    entries = "SCRAM-SHA-256=[name=alice,password=first];SCRAM-SHA-512=[name=alice,password=first]"
    state = broker_state(tmp_path, **{"kafkalite.add.scram": entries})
    first = state.scram.lookup("alice", "SCRAM-SHA-256")
    assert first is not None and state.scram.lookup("alice", "SCRAM-SHA-512") is not None
    # a password changed at runtime is kept over the setting; a deleted mechanism comes back
    state.scram.alter([("alice", 2)], [])
    state.close()
    state = broker_state(tmp_path, **{"kafkalite.add.scram": entries})
    assert state.scram.lookup("alice", "SCRAM-SHA-256") == first
    assert state.scram.lookup("alice", "SCRAM-SHA-512") is not None
    state.close()


def test_bad_initial_user_setting_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="You must supply 'name' to add-scram"):
        BrokerConfig.from_properties({"log.dirs": str(tmp_path), "kafkalite.add.scram": "SCRAM-SHA-256=[password=x]"})


def call(state: BrokerState, handler: Any, key: int, body: Any, principal: str = "User:ANONYMOUS") -> Any:
    ctx = RequestContext(state, RequestHeader(key, 0, 1, "test", 0), "127.0.0.1:1",
                         session=Session("SASL_PLAINTEXT", ("127.0.0.1", 9092), principal))
    return asyncio.run(handler(ctx, body))


def describe_body(names: list[str] | None) -> Any:
    return SimpleNamespace(users=None if names is None else [SimpleNamespace(name=n) for n in names])


def alter_body(deletions: list[tuple[str, int]], upsertions: list[Upsertion]) -> Any:
    return SimpleNamespace(
        deletions=[SimpleNamespace(name=n, mechanism=m) for n, m in deletions],
        upsertions=[SimpleNamespace(name=u.name, mechanism=u.mechanism, iterations=u.iterations, salt=u.salt,
                                    salted_password=u.salted_password) for u in upsertions],
    )


def test_handlers_check_cluster_acls_as_kafka(tmp_path: Path) -> None:
    state = broker_state(tmp_path, **{
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:admin",
    })
    try:
        ok = call(state, handle_alter_user_scram_credentials, 51, alter_body([], [up("alice", 1, 4096)]), "User:admin")
        assert ok["results"] == [{"user": "alice", "error_code": 0, "error_message": None}]
        denied = call(state, handle_alter_user_scram_credentials, 51,
                      alter_body([("zed", 1)], [up("bob", 1, 4096), up("amy", 1, 4096)]), "User:bob")
        assert [(r["user"], r["error_code"]) for r in denied["results"]] == [("amy", 31), ("bob", 31), ("zed", 31)]
        assert denied["results"][0]["error_message"].endswith("needs ALTER permission.")
        assert state.scram.lookup("bob", "SCRAM-SHA-256") is None
        seen = call(state, handle_describe_user_scram_credentials, 50, describe_body(["alice", "x"]), "User:bob")
        assert (seen["error_code"], seen["error_message"]) == (31, None)
        assert seen["results"] == [{"user": "", "error_code": 31, "error_message": None, "credential_infos": []}] * 2
        everyone = call(state, handle_describe_user_scram_credentials, 50, describe_body(None), "User:bob")
        assert (everyone["error_code"], everyone["results"]) == (31, [])
        allowed = call(state, handle_describe_user_scram_credentials, 50, describe_body(None), "User:admin")
        assert [r["user"] for r in allowed["results"]] == ["alice"]
    finally:
        state.close()


def test_java_hash_order_grows_table() -> None:
    names = [f"user{i}" for i in range(40)]
    assert sorted(java_hash_order(names)) == sorted(names)
    assert java_hash_order(["b", "a"]) == ["a", "b"]  # buckets 98 & 15 = 2, 97 & 15 = 1
