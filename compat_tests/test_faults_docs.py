"""Every example in docs/faults.md runs: the Python blocks, each curl line and each CLI line,
against a simulated 3-node cluster with its control endpoint (docs that drift fail here)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from kafkalite.cli import main as cli_main
from kafkalite.embedded import Broker

DOC = Path(__file__).resolve().parent.parent / "docs" / "faults.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(DOC.read_text()) if lang == language]


@pytest.fixture
def cluster(tmp_path: Path):
    with Broker(data_dir=tmp_path / "data", brokers=3, control_port=0) as broker:
        yield broker


def test_python_examples_run(cluster: Broker) -> None:
    ran = 0
    for body in blocks("python"):
        if "def test_" in body:
            continue  # the pytest example uses the application's own helpers
        exec(compile(body, str(DOC), "exec"), {"broker": cluster, "cluster": cluster})
        ran += 1
    assert ran >= 6
    cluster.faults.clear()


def test_shell_examples_run(cluster: Broker) -> None:
    lines = [line for body in blocks("sh") for line in body.splitlines() if line.strip()]
    assert sum(line.startswith("curl ") for line in lines) >= 10
    assert sum(line.startswith("kafkalite faults ") for line in lines) >= 10
    address = f"127.0.0.1:{cluster.control_port}"
    for line in lines:
        line = line.replace("localhost:9099", address)
        args = shlex.split(line)
        if args[0] == "curl":
            done = subprocess.run([args[0], "-sS", "--fail-with-body", *args[1:]], capture_output=True, text=True,
                                  timeout=60)
            assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
        else:  # in process (the HTTP calls are real); test_faults.py runs the CLI as a process
            assert args[:2] == ["kafkalite", "faults"], line
            result = CliRunner().invoke(cli_main, args[1:])
            assert result.exit_code == 0, f"{line}\n{result.output}"
