"""Result bookkeeping and output: the markdown table and the JSON file."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from config import Plan


@dataclass(frozen=True)
class Metric:
    """One row of the table."""

    key: str
    label: str
    unit: str
    higher_is_better: bool
    digits: int


def metrics_for(plan: Plan) -> list[Metric]:
    """The table's rows, in order, for a given plan."""
    rows = [
        Metric("startup_ms", f"startup to metadata (median of {plan.startup_runs})", "ms", False, 1),
        Metric("rss_idle_mib", "RSS idle", "MiB", False, 1),
        Metric(
            "cluster_startup_ms",
            f"3-node cluster: start to metadata listing 3 brokers on every node (median of {plan.startup_runs})",
            "ms",
            False,
            1,
        ),
        Metric("cluster_rss_idle_mib", f"3-node cluster: RSS idle (median of {plan.startup_runs})", "MiB", False, 1),
    ]
    multi = plan.multi
    multi_rows = []
    if multi is not None:
        title = f"produce {multi.label} x{multi.count:,}, {multi.partitions} partitions x {multi.producers} producers"
        if plan.throughput_runs > 1:
            title += f" (median of {plan.throughput_runs})"
        multi_rows = [
            Metric(f"produce_{multi.key}_msgs_s", title, "msgs/s", True, 0),
            Metric(f"produce_{multi.key}_mb_s", title, "MB/s", True, 1),
            Metric(
                f"{multi.key}_vs_single_ratio",
                f"{multi.partitions} partitions x {multi.producers} producers vs 1 partition (produce msgs/s)",
                "ratio",
                True,
                2,
            ),
        ]
        if multi.baseline not in {case.key for case in plan.throughput}:
            rows += multi_rows
    for case in plan.throughput:
        for phase in ("produce", "consume"):
            title = f"{phase} {case.label} x{case.count:,}"
            if plan.throughput_runs > 1:
                title += f" (median of {plan.throughput_runs})"
            rows.append(Metric(f"{phase}_{case.key}_msgs_s", title, "msgs/s", True, 0))
            rows.append(Metric(f"{phase}_{case.key}_mb_s", title, "MB/s", True, 1))
        if multi is not None and multi.baseline == case.key:
            rows += multi_rows
    if plan.security is not None:
        case = plan.security
        runs = f" (median of {plan.throughput_runs})" if plan.throughput_runs > 1 else ""
        for key, label in (("plaintext", "PLAINTEXT"), ("ssl", "SSL"), ("sasl_ssl", "SASL_SSL PLAIN")):
            title = f"produce {case.label} x{case.count:,} over {label}{runs}"
            rows.append(Metric(f"produce_tls_{key}_msgs_s", title, "msgs/s", True, 0))
            rows.append(Metric(f"produce_tls_{key}_mb_s", title, "MB/s", True, 1))
        rows.append(Metric("ssl_vs_plaintext_ratio", "SSL vs PLAINTEXT (produce msgs/s)", "ratio", True, 2))
        rows.append(Metric("sasl_ssl_vs_plaintext_ratio", "SASL_SSL vs PLAINTEXT (produce msgs/s)", "ratio", True, 2))
    rows += [
        Metric("latency_p50_ms", f"e2e latency p50 ({plan.latency_messages} msgs)", "ms", False, 2),
        Metric("latency_p99_ms", f"e2e latency p99 ({plan.latency_messages} msgs)", "ms", False, 2),
        Metric(
            "group_first_msg_ms",
            f"group: subscribe to first message (median of {plan.group_first_runs})",
            "ms",
            False,
            1,
        ),
        Metric(
            "group_failover_ms",
            f"group: failover, {plan.group_failover_partitions} partitions (median of {plan.group_failover_runs})",
            "ms",
            False,
            1,
        ),
        Metric("rss_peak_mib", "RSS peak during run", "MiB", False, 1),
    ]
    return rows


@dataclass
class BrokerResult:
    """Everything measured (or not) for one broker."""

    name: str
    status: str = "ok"  # ok | skipped | failed
    version: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    #: Metric key -> why the value is partial (marked with * in the table).
    flags: dict[str, str] = field(default_factory=dict)
    #: Metric key (or scenario name) -> error message.
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)


def _fmt(value: float, digits: int) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def _flag_key(key: str) -> str:
    """Partial-result flags are stored once per scenario, on its first row."""
    return key.replace("_mb_s", "_msgs_s").replace("latency_p99", "latency_p50")


def _one_line(text: str, limit: int = 400) -> str:
    """Squash a multi-line message (e.g. a log tail) into one list item."""
    flat = " ⏎ ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return flat if len(flat) <= limit else "…" + flat[-limit:]


def markdown(results: list[BrokerResult], plan: Plan) -> str:
    """Render the comparison table plus notes as markdown."""
    head = "| metric | unit | " + " | ".join(r.name for r in results) + " |"
    sep = "|---|---|" + "---:|" * len(results)
    lines = [head, sep]
    for metric in metrics_for(plan):
        arrow = "↑" if metric.higher_is_better else "↓"
        cells = []
        for res in results:
            if metric.key in res.metrics:
                cell = _fmt(res.metrics[metric.key], metric.digits)
                if _flag_key(metric.key) in res.flags:
                    cell += "*"
            elif res.status in ("skipped", "failed"):
                cell = res.status
            else:
                cell = "error"
            cells.append(cell)
        lines.append(f"| {metric.label} | {metric.unit} {arrow} | " + " | ".join(cells) + " |")

    notes = []
    for res in results:
        version = f" ({res.version})" if res.version else ""
        for note in res.notes:
            notes.append(f"- **{res.name}**{version}: {note}")
        for key, why in res.flags.items():
            notes.append(f"- **{res.name}**: `{key}`* {_one_line(why)}")
        for key, err in res.errors.items():
            notes.append(f"- **{res.name}**: `{key}` failed: {_one_line(err)}")
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines)


def write_json(path: Path, results: list[BrokerResult], meta: dict[str, object]) -> None:
    """Write all results, the settings used and the environment to ``path``."""

    def clean(value: object) -> object:
        # JSON has no NaN; use null.
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    doc = {
        **meta,
        "brokers": {
            r.name: {
                "status": r.status,
                "version": r.version,
                "metrics": r.metrics,
                "flags": r.flags,
                "errors": r.errors,
                "notes": r.notes,
                "details": r.details,
            }
            for r in results
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(doc), indent=2, default=str) + "\n")
