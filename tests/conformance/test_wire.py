"""Requests built from JSON encode as the schema says; record sets decode whatever their codec."""

from __future__ import annotations

import pytest

from kafkalite.conformance.corpus import load, substitute, unresolved
from kafkalite.conformance.runner import parse_divergences
from kafkalite.conformance.wire import build_records, build_request, decode_records


def test_nested_request_from_json() -> None:
    request = build_request("Metadata", 12, {"topics": [{"name": "t"}], "allow_auto_topic_creation": False})
    assert request.topics[0].name == "t"
    assert request.allow_auto_topic_creation is False
    with pytest.raises(ValueError, match="no field"):
        build_request("Metadata", 12, {"nope": 1})


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_records_round_trip(codec: str) -> None:
    data = build_records({"compression": codec, "producer_id": 7, "producer_epoch": 1, "base_sequence": 0,
                          "records": [{"key": "a", "value": "1", "headers": {"h": "x"}}, {"key": None, "value": "2"}]})
    [batch] = decode_records(data)["$batches"]
    assert batch["compressed"] is (codec != "none")
    assert (batch["producer_id"], batch["producer_epoch"], batch["records_count"]) == (7, 1, 2)
    assert [(r["key"], r["value"], r["headers"]) for r in batch["records"]] == [("a", "1", {"h": "x"}), (None, "2", {})]


def test_corrupt_crc_and_legacy_messages() -> None:
    good = build_records({"records": [{"value": "v"}]})
    bad = build_records({"records": [{"value": "v"}], "corrupt_crc": True})
    assert len(good) == len(bad) and good != bad
    legacy = decode_records(build_records({"magic": 1, "records": [{"key": "k", "value": "v", "timestamp": 5}]}))
    assert legacy["$messages"] == [{"offset": 0, "timestamp": 5, "key": "k", "value": "v"}]


def test_placeholders() -> None:
    names = {"topic": "t-1", "pid": 42, "v": 3}
    assert substitute({"a": "${topic}", "b": "${pid}", "c": "x-${topic}", "d": "$v"}, names, exact_v=True) == {
        "a": "t-1", "b": 42, "c": "x-t-1", "d": 3}
    assert unresolved({"a": ["${missing}"]}) == ["missing"]


def test_corpus_ids_unique_and_divergence_rows() -> None:
    ids = [s.id for s in load()]
    assert len(ids) == len(set(ids))
    [row] = parse_divergences("| `produce/*` | `step 1: *.error_code` | why |\n| a | b | c |")
    assert row.covers("produce/x@v3", "step 1: responses.0.error_code")
    assert not row.covers("fetch/x", "step 1: error_code")
