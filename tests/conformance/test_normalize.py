"""The normaliser takes out what legitimately differs and keeps what a client can observe."""

from __future__ import annotations

from kafkalite.conformance.normalize import Normaliser, diff

NOW = 1_800_000_000_000


def test_generated_ids_are_numbered_by_first_appearance() -> None:
    norm = Normaliser({}, now_ms=NOW)
    first = norm({"member_id": "m-abc", "members": [{"member_id": "m-xyz"}, {"member_id": "m-abc"}]})
    assert first["member_id"] == "<member:1>"
    assert sorted(m["member_id"] for m in first["members"]) == ["<member:1>", "<member:2>"]
    # The same id in a later step of the scenario keeps its number; the JoinGroup leader is a member id.
    assert norm({"leader": "m-xyz"}) == {"leader": "<member:2>"}


def test_empty_and_negative_ids_stay() -> None:
    norm = Normaliser({}, now_ms=NOW)
    assert norm({"member_id": "", "producer_id": -1, "topic_id": "00000000-0000-0000-0000-000000000000"}) == {
        "member_id": "", "producer_id": -1, "topic_id": "00000000-0000-0000-0000-000000000000"}


def test_deployment_values_and_clock_times() -> None:
    norm = Normaliser({}, now_ms=NOW)
    out = norm({"throttle_time_ms": 5, "host": "h", "port": 1, "session_id": 0, "error_message": None,
                "log_append_time_ms": NOW - 10, "timestamp": 1_700_000_000_000})
    assert out == {"host": "<host>", "port": "<port>", "session_id": 0, "error_message": None,
                   "log_append_time_ms": "<now>", "timestamp": 1_700_000_000_000}


def test_run_names_become_placeholders_longest_first() -> None:
    norm = Normaliser({"topic": "cf-x-topic-1", "topic2": "cf-x-topic-1-2"}, now_ms=NOW)
    assert norm({"name": "cf-x-topic-1-2"}) == {"name": "${topic2}"}
    assert norm({"name": "cf-x-topic-1"}) == {"name": "${topic}"}


def test_struct_arrays_sorted_but_records_and_replicas_keep_order() -> None:
    norm = Normaliser({}, now_ms=NOW)
    out = norm({"topics": [{"name": "b"}, {"name": "a"}], "replica_nodes": [3, 1],
                "$batches": [{"base_offset": 5}, {"base_offset": 0}]})
    assert out["topics"] == [{"name": "a"}, {"name": "b"}]
    assert out["replica_nodes"] == [3, 1]
    assert out["$batches"] == [{"base_offset": 5}, {"base_offset": 0}]


def test_diff_paths() -> None:
    assert diff({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}], "c": 1}) == [("a.1.b", 2, 3), ("c", "<absent>", 1)]
    assert diff([1], [1, 2]) == [("1", "<absent>", 2)]
