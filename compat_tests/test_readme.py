"""The README's API table is the broker's registry, not a hand-kept copy that drifts."""

from __future__ import annotations

from pathlib import Path

from kafkalite.broker.handlers import APIS


def test_readme_api_table_matches_registry() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for spec in APIS.values():
        if not spec.advertised:
            continue
        assert f"| {spec.name} | {spec.key} | {spec.min_version}-{spec.max_version} |" in readme, spec.name
    assert "kafkalite serve" in readme and "bash .ci/run" in readme
