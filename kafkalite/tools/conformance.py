"""``kafkalite conformance``: the differential scenario corpus against any broker.

Expected answers are Apache Kafka's, recorded in the package (``kafkalite/conformance/transcripts``),
so this needs no JVM: point it at kafkalite, Apache Kafka, Tansu, noida-db, a proxy... and it
prints API x version x scenario as matched / differs (with the differing fields) / unsupported.
``--record`` writes new transcripts from the broker given (which should be Apache Kafka).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from kafkalite.tools.common import DEFAULT_BOOTSTRAP, emit, output_option, stdout_console

STATUS_ORDER = ("differs", "error", "missing", "unsupported", "matched")


@click.command()
@click.option("-b", "--bootstrap-server", "bootstrap", envvar="KAFKALITE_BOOTSTRAP", default=DEFAULT_BOOTSTRAP,
              show_default=True, help="The broker to check (host:port).")
@click.option("-f", "--family", "families", multiple=True, help="Only these API families (repeatable).")
@click.option("-s", "--scenario", "patterns", multiple=True, help="Only scenario ids matching this glob.")
@click.option("--known", "known_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CONFORMANCE.md whose table of known divergences marks differences as expected.")
@click.option("--record", "record_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Record the broker's answers as transcripts into this folder instead of comparing.")
@click.option("--expected", "expected_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Compare with transcripts in this folder (e.g. recorded from another broker with --record).")
@click.option("--retry-seconds", type=float, default=15.0, show_default=True,
              help="How long a set-up step is repeated while it fails (lower it for brokers that lack APIs).")
@click.option("--listener", "listener_args", multiple=True, metavar="NAME=HOST:PORT",
              help="Another listener of the broker (e.g. SASL_PLAINTEXT=127.0.0.1:9094), for the sasl and authz "
                   "families, whose connections log in there (repeatable).")
@click.option("-v", "--verbose", is_flag=True, help="List every matched scenario too, and every difference.")
@output_option
def conformance(bootstrap: str, families: tuple[str, ...], patterns: tuple[str, ...], known_file: Path | None,
                record_dir: Path | None, expected_dir: Path | None, retry_seconds: float,
                listener_args: tuple[str, ...], verbose: bool, output: str) -> None:
    """Compare a broker's answers with Apache Kafka's, scenario by scenario; exit 1 on differences."""
    import fnmatch

    from kafkalite.conformance import corpus, runner
    from kafkalite.tools.common import fail

    listeners: dict[str, str] = {}
    for item in listener_args:
        name, sep, address = item.partition("=")
        if not sep or ":" not in address:
            raise fail(f"--listener wants NAME=HOST:PORT, not {item!r}")
        listeners[name.strip().upper()] = address.strip()
    scenarios = [s for s in corpus.load(list(families) or None)
                 if not patterns or any(fnmatch.fnmatchcase(s.id, p) for p in patterns)]
    try:
        runner.advertised_versions(bootstrap)
    except OSError as exc:
        raise fail(f"cannot ask {bootstrap} for its API versions: {exc}") from exc
    if record_dir is not None:
        count = runner.record(scenarios, bootstrap, record_dir, listeners=listeners)
        click.echo(f"recorded {count} scenarios into {record_dir}")
        return
    known = runner.parse_divergences(known_file.read_text()) if known_file else []
    expected = runner.load_transcripts(expected_dir) if expected_dir else None
    outcomes = runner.check(scenarios, bootstrap, known, expected, retry_seconds, listeners)
    rows = [_row(o) for o in outcomes]
    counts = {status: sum(1 for o in outcomes if o.status == status) for status in STATUS_ORDER}
    if output == "json":
        click.echo(json.dumps({"summary": counts, "scenarios": rows}, indent=1, default=str))
    else:
        shown = [r for r in rows if verbose or r["status"] not in ("matched",)]
        shown.sort(key=lambda r: (STATUS_ORDER.index(r["status"]), r["scenario"]))
        table = [{**r, "detail": _detail(r, verbose)} for r in shown]
        emit(table, ["api", "version", "scenario", "status", "detail"], "table", title="Conformance with Apache Kafka")
        stdout_console().print(" ".join(f"{n} {s}" for s, n in counts.items()))
    failing = [o for o in outcomes if o.status in ("error", "missing") or (o.status == "differs" and o.unexplained)]
    if failing:
        raise SystemExit(1)


def _row(outcome: Any) -> dict[str, Any]:
    scenario = outcome.scenario
    apis = sorted({(s["api"], s["version"]) for s in scenario.steps if "api" in s and s.get("compare", True)})
    status = outcome.status
    if status == "differs" and not outcome.unexplained:
        status = "matched"  # every difference is a documented one
    return {
        "scenario": scenario.id,
        "api": ", ".join(sorted({a for a, _ in apis})),
        "version": scenario.version if scenario.version is not None else ", ".join(str(v) for _, v in apis),
        "status": status,
        "known_differences": sum(1 for d in outcome.differences if d[3]),
        "differences": [{"where": w, "kafka": k, "broker": b, "known": kn} for w, k, b, kn in outcome.differences],
        "note": outcome.detail,
    }


def _detail(row: dict[str, Any], verbose: bool) -> str:
    lines = [row["note"]] if row["note"] else []
    diffs = row["differences"] if verbose else [d for d in row["differences"] if not d["known"]]
    for d in diffs[: None if verbose else 6]:
        mark = " (known)" if d["known"] else ""
        lines.append(f"{d['where']}: kafka {_short(d['kafka'])} / broker {_short(d['broker'])}{mark}")
    hidden = len(row["differences"]) - len(diffs)
    if not verbose and len(diffs) > 6:
        lines.append(f"... {len(diffs) - 6} more")
    if hidden and not verbose:
        lines.append(f"{hidden} known difference(s)")
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
