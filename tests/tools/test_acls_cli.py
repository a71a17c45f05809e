"""``kafkalite acls`` flag parsing: kafka-acls.sh's operation names and its producer/consumer sets."""

from __future__ import annotations

import click
import pytest

from kafkalite.tools.acls import Resource, _operation, _targets


@pytest.mark.parametrize("given", ["DescribeConfigs", "describe-configs", "DESCRIBE_CONFIGS", "describeconfigs"])
def test_operation_spellings(given: str) -> None:
    assert _operation(given) == "DESCRIBE_CONFIGS"


def test_unknown_operation() -> None:
    with pytest.raises(click.BadParameter, match="'Fly' is not one of All, Read, Write"):
        _operation("Fly")


def test_targets() -> None:
    topic, group, txn = Resource("TOPIC", "t"), Resource("GROUP", "g"), Resource("TRANSACTIONAL_ID", "x")
    assert _targets([topic, group], ["Read"], "ALL", False, False, False) == [(topic, "READ"), (group, "READ")]
    assert _targets([topic], [], "ALL", False, False, False) == [(topic, "ALL")]
    assert _targets([topic, txn], [], "ALL", True, False, True) == [
        (topic, "WRITE"), (topic, "DESCRIBE"), (topic, "CREATE"), (txn, "WRITE"), (txn, "DESCRIBE"),
        (Resource("BROKER", "kafka-cluster"), "IDEMPOTENT_WRITE")]
    assert _targets([topic, group], [], "ANY", True, True, False) == [
        (topic, "WRITE"), (topic, "DESCRIBE"), (topic, "CREATE"), (topic, "READ"), (group, "READ")]
    with pytest.raises(click.UsageError, match="--consumer needs --group"):
        _targets([topic], [], "ALL", False, True, False)
    with pytest.raises(click.UsageError, match="cannot be combined"):
        _targets([topic], ["Read"], "ALL", True, False, False)
