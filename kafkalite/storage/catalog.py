"""Durable broker metadata in the data directory: topics, cluster id, clean-shutdown marker.

``topics.json`` holds every topic's id, partition count and configs and is replaced
atomically (write, fsync, rename) on each change. ``meta.properties`` holds the cluster id as
Kafka's does. ``log-start-offset-checkpoint`` keeps log start offsets moved inside a segment
(DeleteRecords) in Kafka's checkpoint format, and ``cleaner-offset-checkpoint`` the first dirty
offset of every compacted partition (where the cleaner resumes); ``broker-configs.json`` keeps dynamic broker
configs (AlterConfigs on the broker and cluster-default resources).
``.kafkalite_cleanshutdown`` exists only while the broker is stopped cleanly, telling the next
start that active segments need no recovery.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kafkalite.storage import fs as _fs
from kafkalite.storage.fs import REAL_FS, FileSystem

CLEAN_SHUTDOWN_FILE = ".kafkalite_cleanshutdown"
LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint"
CLEANER_OFFSET_CHECKPOINT = "cleaner-offset-checkpoint"
BROKER_CONFIGS_FILE = "broker-configs.json"
#: An empty file per deleted topic until ``topics.json`` no longer lists it (needs no disk space).
DELETED_TOPIC_PREFIX = ".deleted-topic-"


@dataclass
class TopicRecord:
    name: str
    topic_id: uuid.UUID
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


def fsync_dir(directory: Path) -> None:
    """Make renames and creations in ``directory`` durable (a rename lives in the directory)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # some file systems refuse fsync on a directory
            raise
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, fs: FileSystem = REAL_FS, private: bool = False) -> None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file.

    Write a temporary file, fsync it, rename it over ``path`` (``fs.atomic_write``; a failure
    leaves no temporary file), then fsync the directory: until the directory is synced, a power
    loss may undo the rename and bring the old file back. ``private``: mode 0600.
    """
    _fs.atomic_write(path, data, fs, private)
    fsync_dir(path.parent)


def encode_checkpoint(offsets: dict[tuple[str, int], int]) -> bytes:
    """Kafka's offset checkpoint file: version 0, the entry count, then ``topic partition offset``."""
    lines = ["0", str(len(offsets))]
    lines += [f"{topic} {partition} {offset}" for (topic, partition), offset in sorted(offsets.items())]
    return ("\n".join(lines) + "\n").encode()


def decode_checkpoint(text: str) -> dict[tuple[str, int], int]:
    """Entries of a checkpoint file; an unknown version or a torn file reads as empty."""
    lines = text.splitlines()
    offsets: dict[tuple[str, int], int] = {}
    if len(lines) < 2 or lines[0].strip() != "0":
        return offsets
    try:
        for line in lines[2 : 2 + int(lines[1])]:
            topic, partition, offset = line.rsplit(" ", 2)
            offsets[(topic, int(partition))] = int(offset)
    except ValueError:
        return {}
    return offsets


class Catalog:
    """Reads and writes the data directory's metadata files; holds no broker state."""

    def __init__(self, data_dir: Path, fs: FileSystem = REAL_FS) -> None:
        self.data_dir = data_dir
        self.fs = fs
        data_dir.mkdir(parents=True, exist_ok=True)
        self._topics_path = data_dir / "topics.json"
        self._meta_path = data_dir / "meta.properties"
        self._marker = data_dir / CLEAN_SHUTDOWN_FILE

    def cluster_id(self) -> str:
        """The persisted cluster id, created on first start (22-char base64 UUID like Kafka)."""
        if self._meta_path.exists():
            for line in self._meta_path.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.split("=", 1)[1].strip()
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        atomic_write(self._meta_path, f"version=1\ncluster.id={cid}\nnode.id=1\n".encode(), self.fs)
        return cid

    def load_topics(self) -> list[TopicRecord]:
        if not self._topics_path.exists():
            return []
        raw = json.loads(self._topics_path.read_text())
        return [
            TopicRecord(t["name"], uuid.UUID(t["id"]), int(t["partitions"]), dict(t.get("configs", {})))
            for t in raw["topics"]
        ]

    def save_topics(self, topics: list[TopicRecord]) -> None:
        doc = {
            "version": 1,
            "topics": [
                {"name": t.name, "id": str(t.topic_id), "partitions": t.partitions, "configs": t.configs}
                for t in topics
            ],
        }
        atomic_write(self._topics_path, json.dumps(doc, indent=1, sort_keys=True).encode(), self.fs)

    # ---- deleted topics (a tombstone that outlives a topics.json the full disk refused) --------

    def mark_topic_deleted(self, topic_id: uuid.UUID) -> None:
        """Leave an empty tombstone for ``topic_id``: creating it takes an inode, no data blocks."""
        fd = self.fs.open(self.data_dir / f"{DELETED_TOPIC_PREFIX}{topic_id}", os.O_WRONLY | os.O_CREAT, 0o644)
        self.fs.close(fd)

    def deleted_topic_ids(self) -> set[uuid.UUID]:
        found: set[uuid.UUID] = set()
        for path in self.data_dir.glob(f"{DELETED_TOPIC_PREFIX}*"):
            try:
                found.add(uuid.UUID(path.name[len(DELETED_TOPIC_PREFIX) :]))
            except ValueError:
                continue
        return found

    def clear_deleted_topics(self) -> None:
        """``topics.json`` was saved without the deleted topics: their tombstones can go."""
        for path in self.data_dir.glob(f"{DELETED_TOPIC_PREFIX}*"):
            path.unlink(missing_ok=True)

    def take_clean_shutdown_marker(self) -> bool:
        """Whether the last stop was clean; removes the marker so a crash now is detected."""
        if self._marker.exists():
            self._marker.unlink()
            return True
        return False

    def mark_clean_shutdown(self) -> None:
        atomic_write(self._marker, b"", self.fs)

    def partition_dir(self, topic: str, partition: int) -> Path:
        return self.data_dir / f"{topic}-{partition}"

    # ---- log start offsets (Kafka's log-start-offset-checkpoint: version, count, entries) ----

    def load_checkpoint(self, name: str) -> dict[tuple[str, int], int]:
        path = self.data_dir / name
        if not path.exists():
            return {}
        return decode_checkpoint(path.read_text())

    def checkpoint_path(self, name: str) -> Path:
        return self.data_dir / name

    def load_log_start_offsets(self) -> dict[tuple[str, int], int]:
        return self.load_checkpoint(LOG_START_OFFSET_CHECKPOINT)

    def save_log_start_offsets(self, offsets: dict[tuple[str, int], int]) -> None:
        atomic_write(self.data_dir / LOG_START_OFFSET_CHECKPOINT, encode_checkpoint(offsets), self.fs)

    # ---- dynamic broker configs --------------------------------------------------------------

    def load_broker_configs(self) -> tuple[dict[str, str], dict[str, str]]:
        """(per-broker, cluster-default) dynamic configs."""
        path = self.data_dir / BROKER_CONFIGS_FILE
        if not path.exists():
            return {}, {}
        raw = json.loads(path.read_text())
        return dict(raw.get("broker", {})), dict(raw.get("default", {}))

    def has_broker_configs(self) -> bool:
        """Whether dynamic broker configs were ever saved (False on a fresh data dir)."""
        return (self.data_dir / BROKER_CONFIGS_FILE).exists()

    def save_broker_configs(self, broker: dict[str, str], default: dict[str, str]) -> None:
        doc = {"version": 1, "broker": broker, "default": default}
        data = json.dumps(doc, indent=1, sort_keys=True).encode()
        # 0600: it may hold listener passwords (kept unencrypted, as Kafka keeps them)
        atomic_write(self.data_dir / BROKER_CONFIGS_FILE, data, self.fs, private=True)
