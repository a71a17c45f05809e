"""``kafkalite conformance`` as a user runs it: a matrix against a live broker, exit 1 on differences."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from compat_tests.brokerproc import BrokerProcess
from kafkalite.cli import main


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["conformance", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_matches_kafka_on_the_metadata_family(broker: BrokerProcess) -> None:
    code, out = _run("-b", broker.bootstrap, "-f", "metadata", "--known", "CONFORMANCE.md", "-o", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["summary"]["matched"] >= 6
    assert {r["status"] for r in report["scenarios"]} <= {"matched", "unsupported"}


def test_differences_fail_and_are_shown(broker: BrokerProcess, tmp_path: Path) -> None:
    """Answers recorded from kafkalite, one of them altered, stand in for a broker that differs."""
    code, out = _run("-b", broker.bootstrap, "-s", "metadata/produce-then-fetch", "--record", str(tmp_path))
    assert code == 0, out
    path = tmp_path / "metadata.json"
    recorded = json.loads(path.read_text())
    fetch = recorded["scenarios"]["metadata/produce-then-fetch"][2]["response"]
    fetch["responses"][0]["partitions"][0]["high_watermark"] = 99
    path.write_text(json.dumps(recorded))
    code, out = _run("-b", broker.bootstrap, "-s", "metadata/produce-then-fetch", "--expected", str(tmp_path))
    assert code == 1
    assert "differs" in out and "high_watermark" in out and "99" in out
