"""Go clients against kafkalite: franz-go (kgo, kadm) and IBM sarama.

The scenarios live in one Go program (``compat_tests/go``, its own module with go.sum
committed) built once per session into a temporary folder; each test runs one scenario
against a real broker and asserts on the JSON it prints. The module cache is Go's own
(``go env GOMODCACHE``), outside the repository.

Set ``KAFKALITE_GO_REFERENCE=1`` to run the same scenarios, with the same assertions,
against Apache Kafka as well (``reference_kafka``; needs java and mvn): that is how these
expectations were checked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from compat_tests.brokerproc import BrokerProcess

GO_MODULE = Path(__file__).parent / "go"
TARGETS = ["kafkalite"] + (["reference"] if os.environ.get("KAFKALITE_GO_REFERENCE") else [])
#: Kafka's batch attribute codes, as kgo reports them per record.
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


@pytest.fixture(scope="session")
def go_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``go build`` once; the module cache and build cache are Go's defaults, outside the repo."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed")
    binary = tmp_path_factory.mktemp("go-bin") / "kafkalite-go"
    # -mod=readonly: go.sum is the lock; a build never rewrites go.mod. No VCS stamping:
    # CI's clone may be owned by another user than the one running git.
    env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false", "GOTOOLCHAIN": "local"}
    result = subprocess.run([go, "build", "-o", str(binary), "."], cwd=GO_MODULE, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"go build failed:\n{result.stdout}\n{result.stderr}"
    return binary


@pytest.fixture(params=TARGETS)
def bootstrap(request: pytest.FixtureRequest) -> str:
    """kafkalite's shared broker, and Apache Kafka when KAFKALITE_GO_REFERENCE is set."""
    if request.param == "reference":
        return str(request.getfixturevalue("reference_kafka").bootstrap)
    broker: BrokerProcess = request.getfixturevalue("broker")
    return broker.bootstrap


def run_go(binary: Path, scenario: str, bootstrap: str, *args: object, timeout: float = 90) -> Any:
    """Run one scenario; its last stdout line is the JSON result."""
    out = subprocess.run([str(binary), scenario, bootstrap, *map(str, args)],
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{scenario} exited {out.returncode}: {out.stderr}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def per_partition(records: list[dict[str, Any]]) -> dict[int, list[int]]:
    offsets: dict[int, list[int]] = {}
    for r in records:
        offsets.setdefault(r["partition"], []).append(r["offset"])
    return {p: sorted(o) for p, o in offsets.items()}


# --- franz-go kgo ---------------------------------------------------------------------------


def test_kgo_produce_every_codec_idempotent_and_consume(go_binary: Path, bootstrap: str, topic_name: str) -> None:
    result = run_go(go_binary, "kgo-produce-codecs", bootstrap, topic_name)
    produced, consumed = result["produced"], result["consumed"]
    assert Counter(p["codec"] for p in produced) == {codec: 12 for codec in CODEC_IDS}
    # Idempotent by default: each client got its own producer id, epoch 0.
    ids = {codec: {(p["producer_id"], p["producer_epoch"]) for p in produced if p["codec"] == codec}
           for codec in CODEC_IDS}
    assert all(len(pairs) == 1 for pairs in ids.values()), ids
    assert len({pid for pairs in ids.values() for pid, _ in pairs}) == 5
    assert all(pid >= 0 and epoch == 0 for pairs in ids.values() for pid, epoch in pairs)

    assert sorted((c["key"], c["partition"], c["offset"]) for c in consumed) == sorted(
        (p["key"], p["partition"], p["offset"]) for p in produced)
    by_key = {p["key"]: p for p in produced}
    for c in consumed:
        codec = c["headers"]["codec"]
        assert c["key"].startswith(codec + "-")
        assert c["compression"] == CODEC_IDS[codec], c
        assert c["value"] == (c["key"] + " kafkalite ") * 20
        assert c["producer_id"] == by_key[c["key"]]["producer_id"]
    assert set(per_partition(consumed)) == {0, 1, 2}
    for offsets in per_partition(consumed).values():
        assert offsets == list(range(len(offsets)))


def test_kgo_group_two_members_split_then_one_takes_over(go_binary: Path, bootstrap: str, topic_name: str) -> None:
    result = run_go(go_binary, "kgo-group-takeover", bootstrap, topic_name, f"g-{topic_name}")
    assert result["alone"] == [0, 1, 2, 3]
    a, b = result["split"]["a"], result["split"]["b"]
    assert len(a) == len(b) == 2 and sorted(a + b) == [0, 1, 2, 3], result["split"]
    round1 = result["round1"]
    assert {r["partition"] for r in round1["a"]} <= set(a)
    assert {r["partition"] for r in round1["b"]} <= set(b)
    assert round1["a"] and round1["b"]
    values = [r["value"] for r in round1["a"] + round1["b"]]
    assert sorted(values) == sorted(f"p{p}-{i}" for p in range(4) for i in range(10))
    # b left: a owns everything and resumes from b's commits, replaying nothing.
    assert result["takeover"] == [0, 1, 2, 3]
    assert sorted(r["value"] for r in result["round2"]) == sorted(f"q{p}-{i}" for p in range(4) for i in range(5))
    assert result["committed"] == {f"{topic_name}/{p}": 15 for p in range(4)}


def test_kgo_group_resumes_committed_offsets_after_broker_restart(
    go_binary: Path, own_broker: BrokerProcess, topic_name: str
) -> None:
    own_broker.start()
    bootstrap, group = own_broker.bootstrap, f"g-{topic_name}"
    run_go(go_binary, "create-topic", bootstrap, topic_name, 3)
    run_go(go_binary, "produce-values", bootstrap, topic_name, "a", 30)
    first = run_go(go_binary, "kgo-group-consume", bootstrap, topic_name, group, 30)
    assert first["values"] == sorted(f"a{i}" for i in range(30))
    before = run_go(go_binary, "group-offsets", bootstrap, group)["committed"]
    assert sum(before.values()) == 30 and len(before) == 3

    own_broker.stop()
    own_broker.start()
    assert run_go(go_binary, "group-offsets", bootstrap, group)["committed"] == before
    run_go(go_binary, "produce-values", bootstrap, topic_name, "b", 15)
    second = run_go(go_binary, "kgo-group-consume", bootstrap, topic_name, group, 15)
    assert second["values"] == sorted(f"b{i}" for i in range(15))
    after = run_go(go_binary, "group-offsets", bootstrap, group)["committed"]
    assert sum(after.values()) == 45


def test_kgo_group_transact_session_exactly_once(go_binary: Path, bootstrap: str, topic_name: str) -> None:
    result = run_go(go_binary, "kgo-transact", bootstrap, f"{topic_name}-in", f"{topic_name}-out",
                    f"g-{topic_name}")
    rounds = result["rounds"]
    assert rounds[0]["tried"] == "abort" and rounds[0]["committed"] is False
    assert rounds[-1]["committed"] is True
    assert sum(r["records"] for r in rounds if r["committed"]) == 20
    assert result["committed_counts"] == {f"in-{i}": 1 for i in range(20)}
    expected = sorted(f"out-in-{i}" for i in range(20))
    # read_committed sees each transformed record exactly once, nothing aborted.
    assert result["read_committed"] == expected
    # The aborted transactions really were written: read_uncommitted sees them.
    uncommitted = Counter(result["read_uncommitted"])
    assert {f"aborted-{i}" for i in range(5)} <= set(uncommitted)
    assert sum(n for v, n in uncommitted.items() if v.startswith("out-")) == 20 + rounds[0]["records"]
    # Offsets were committed with the transactions, up to the end of the input.
    assert result["committed"] == result["input_ends"]
    assert sum(result["committed"].values()) == 20


def test_kgo_zombie_transactional_producer_is_fenced(go_binary: Path, bootstrap: str, topic_name: str) -> None:
    result = run_go(go_binary, "kgo-fence", bootstrap, topic_name)
    # kafkalite (transaction version 1) refuses the zombie's AddPartitionsToTxn with PRODUCER_FENCED;
    # Kafka 4.4 (version 2, partitions added by Produce) refuses its Produce with INVALID_PRODUCER_EPOCH.
    assert result["zombie_produce_error"].startswith(("PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH")), result
    assert result["read_committed"] == ["old-1", "new-1"]


# --- franz-go kadm --------------------------------------------------------------------------


def test_kadm_topic_lifecycle(go_binary: Path, bootstrap: str, topic_name: str) -> None:
    r = run_go(go_binary, "kadm-topics", bootstrap, topic_name)
    assert r["created"] == {"partitions": 3, "replication_factor": 1, "has_id": True, "retention_ms": "3600000"}
    assert r["create_again_error"].startswith("TOPIC_ALREADY_EXISTS")
    assert r["in_all_topics"] is True
    assert r["described"]["partitions"] == [0, 1, 2] and r["described"]["has_id"] is True
    node = r["describe_cluster"]["controller"]
    assert r["described"]["leaders"] == [node] * 3 and r["described"]["replicas"] == [[node]] * 3

    assert r["configs"] == {
        "retention.ms": {"value": "3600000", "source": "DYNAMIC_TOPIC_CONFIG"},
        "cleanup.policy": {"value": "delete", "source": "DYNAMIC_TOPIC_CONFIG"},
        "max.message.bytes": {"value": "1048588", "source": "DEFAULT_CONFIG"},
        "segment.bytes": {"value": "1073741824", "source": "DEFAULT_CONFIG"},
    }
    assert r["altered_configs"] == {
        "retention.ms": {"value": "7200000", "source": "DYNAMIC_TOPIC_CONFIG"},
        "cleanup.policy": {"value": "delete", "source": "DEFAULT_CONFIG"},
        "max.message.bytes": {"value": "200000", "source": "DYNAMIC_TOPIC_CONFIG"},
        "segment.bytes": {"value": "1073741824", "source": "DEFAULT_CONFIG"},
    }
    assert r["after_create_partitions"]["partitions"] == [0, 1, 2, 3, 4]

    def each(value: int) -> dict[str, int]:
        return {f"{topic_name}/{p}": value for p in range(5)}

    offsets = r["offsets"]
    assert offsets["start"] == each(0)
    assert offsets["end"] == each(10)
    assert offsets["committed"] == each(10)  # no open transactions: last stable = end
    assert offsets["after_3500ms"] == each(4)  # timestamps t0 + 0s..9s
    assert offsets["past_last"] == each(10)  # kadm maps "none after" to the end offset
    assert offsets["max_timestamp"] == each(9)

    # DeleteRecords to 3 on partition 0, and to the high watermark (-1) on partition 1.
    assert r["delete_records_low_watermarks"] == {"0": 3, "1": 10}
    assert r["start_after_delete"] == {**each(0), f"{topic_name}/0": 3, f"{topic_name}/1": 10}
    first = r["first_after_delete"]
    assert (first["partition"], first["offset"], first["value"]) == (0, 3, "p0-3")

    dc = r["describe_cluster"]
    assert dc["error_code"] == 0 and dc["cluster_id"]
    host, port = bootstrap.rsplit(":", 1)
    assert dc["brokers"] == [{"node_id": node, "host": host, "port": int(port)}]
    meta = r["metadata_cluster"]
    assert meta["cluster_id"] == dc["cluster_id"] and meta["controller"] == node
    assert [(b["NodeID"], b["Host"], b["Port"]) for b in meta["brokers"]] == [(node, host, int(port))]

    assert r["describe_deleted_error"].startswith("UNKNOWN_TOPIC_OR_PARTITION")


def test_kadm_group_administration(go_binary: Path, bootstrap: str, topic_name: str) -> None:
    group = f"g-{topic_name}"
    r = run_go(go_binary, "kadm-groups", bootstrap, topic_name, group)
    t0, t1 = f"{topic_name}/0", f"{topic_name}/1"

    stable = r["stable"]
    assert stable["listed"]["Group"] == group
    assert (stable["listed"]["State"], stable["listed"]["ProtocolType"]) == ("Stable", "consumer")
    described = stable["described"]
    assert (described["state"], described["protocol_type"], described["protocol"]) == (
        "Stable", "consumer", "cooperative-sticky")
    assert described["members"] == [{"client_id": "kafkalite-go-member", "has_member_id": True,
                                     "assigned": {topic_name: [0, 1]}, "subscribed": [topic_name]}]
    assert stable["offsets"] == {t0: 7, t1: 4}
    assert stable["lag"] == {"state": "Stable", "total": 9, "partitions": {t0: 3, t1: 6}}
    # An admin commit (no member id, generation -1) is refused while the group has members.
    assert stable["admin_commit_error"].startswith("UNKNOWN_MEMBER_ID")

    empty = r["empty"]
    assert empty["described"]["state"] == "Empty" and empty["described"]["members"] == []
    assert empty["listed_empty"]["State"] == "Empty"
    assert empty["listed_stable"] is None
    assert empty["offsets"] == {t0: 10, t1: 8}
    assert empty["metadata_0"] == "by kadm"
    assert empty["lag"] == {"state": "Empty", "total": 2, "partitions": {t0: 0, t1: 2}}
    assert empty["offsets_after_delete"] == {t0: 10}

    assert r["listed_after_delete"] is None
    assert r["described_after_delete"]["error"].startswith("GROUP_ID_NOT_FOUND")


# --- sarama ---------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_sarama_sync_producer_and_consumer_group(
    go_binary: Path, bootstrap: str, topic_name: str, codec: str
) -> None:
    sent = run_go(go_binary, "sarama-produce", bootstrap, topic_name, 3, 30, codec)["sent"]
    assert sorted(s["key"] for s in sent) == sorted(f"s{i}" for i in range(30))
    offsets = per_partition(sent)
    assert all(o == list(range(len(o))) for o in offsets.values()), offsets
    assert set(offsets) == {0, 1, 2}

    # As stored: one idempotent producer id, batches in the chosen codec.
    stored = run_go(go_binary, "kgo-read", bootstrap, topic_name, 30)["records"]
    assert {r["compression"] for r in stored} == {CODEC_IDS[codec]}
    (producer_id,) = {r["producer_id"] for r in stored}
    assert producer_id >= 0

    group = run_go(go_binary, "sarama-group", bootstrap, topic_name, f"g-{topic_name}", 30)
    assert not group["errors"]
    assert group["claims"] == {topic_name: [0, 1, 2]}
    assert group["has_member_id"] and group["generation"] >= 1
    consumed = group["consumed"]
    assert sorted((c["key"], c["partition"], c["offset"]) for c in consumed) == sorted(
        (s["key"], s["partition"], s["offset"]) for s in sent)
    assert all(c["value"] == "value-" + c["key"] and c["headers"] == {"from": "sarama"} for c in consumed)
    assert group["committed"] == {f"{topic_name}/{p}": len(o) for p, o in offsets.items()}
    assert group["state_after_close"] == "Empty"
