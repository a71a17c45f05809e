import base64
import json
import uuid

from kafkalite.storage.catalog import CLEAN_SHUTDOWN_FILE, Catalog, TopicRecord, atomic_write


def test_cluster_id_created_once_and_stable(tmp_path):
    cat = Catalog(tmp_path / "data")
    cid = cat.cluster_id()
    assert len(cid) == 22
    assert len(base64.urlsafe_b64decode(cid + "==")) == 16
    assert cat.cluster_id() == cid
    assert Catalog(tmp_path / "data").cluster_id() == cid
    props = (tmp_path / "data" / "meta.properties").read_text().splitlines()
    assert f"cluster.id={cid}" in props


def test_cluster_ids_differ_between_data_dirs(tmp_path):
    assert Catalog(tmp_path / "a").cluster_id() != Catalog(tmp_path / "b").cluster_id()


def test_cluster_id_read_from_existing_meta_properties(tmp_path):
    (tmp_path / "meta.properties").write_text("version=1\ncluster.id= abcDEF123 \nnode.id=1\n")
    assert Catalog(tmp_path).cluster_id() == "abcDEF123"


def test_no_topics_file_means_no_topics(tmp_path):
    assert Catalog(tmp_path).load_topics() == []


def test_topics_round_trip(tmp_path):
    topics = [
        TopicRecord("orders", uuid.uuid4(), 3, {"cleanup.policy": "compact", "segment.ms": "1000"}),
        TopicRecord("events.v1", uuid.uuid4(), 1),
    ]
    Catalog(tmp_path).save_topics(topics)
    assert Catalog(tmp_path).load_topics() == topics
    doc = json.loads((tmp_path / "topics.json").read_text())
    assert doc["topics"][0]["id"] == str(topics[0].topic_id)


def test_save_replaces_previous_topics(tmp_path):
    cat = Catalog(tmp_path)
    a = TopicRecord("a", uuid.uuid4(), 1)
    b = TopicRecord("b", uuid.uuid4(), 2)
    cat.save_topics([a, b])
    cat.save_topics([b])
    assert cat.load_topics() == [b]
    assert not list(tmp_path.glob("*.tmp"))


def test_clean_shutdown_marker(tmp_path):
    cat = Catalog(tmp_path)
    assert cat.take_clean_shutdown_marker() is False
    cat.mark_clean_shutdown()
    assert (tmp_path / CLEAN_SHUTDOWN_FILE).exists()
    assert Catalog(tmp_path).take_clean_shutdown_marker() is True
    assert not (tmp_path / CLEAN_SHUTDOWN_FILE).exists()
    assert cat.take_clean_shutdown_marker() is False


def test_partition_dir(tmp_path):
    assert Catalog(tmp_path).partition_dir("my-topic", 7) == tmp_path / "my-topic-7"


def test_atomic_write_replaces_content(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, b"one")
    atomic_write(path, b"two")
    assert path.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
