"""The TLS rows: one produce case over PLAINTEXT, SSL and SASL_SSL (PLAIN) listeners of the same broker.

kafkalite and Apache Kafka get one more start each, with three listeners and exactly the same
settings, in Kafka's names: ``ssl.keystore.type=PEM`` and ``ssl.keystore.location`` (a development
CA and a localhost certificate from ``kafkalite.server.tls.write_self_signed``, EC P-256),
``sasl.enabled.mechanisms=PLAIN`` and the SASL_SSL listener's PLAIN JAAS config. The client is the
same confluent-kafka producer with the same settings plus ``security.protocol`` (and the PLAIN user);
it checks the broker's certificate against the CA. One untimed produce over each listener comes first
(a fresh JVM's JIT, and each TLS code path, warm up), then the runs interleave the three listeners (run 1
of each, then run 2...), so a machine that slows down during the run affects them alike. A
kafkalite without SASL listeners (issue 13's ``sasl`` slice not merged) still gets its SSL rows.
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import brokers
import scenarios
from config import Plan
from report import BrokerResult

#: The brokers that get the TLS rows (the peers' TLS set-ups differ, so they are not compared here).
SECURE_BROKERS = ("kafkalite", "kafka")
LISTENERS = ("PLAINTEXT", "SSL", "SASL_SSL")
USER, PASSWORD = "bench", "bench-secret"
JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    f'username="admin" password="admin-secret" user_admin="admin-secret" user_{USER}="{PASSWORD}";'
)
#: What a kafkalite without SASL listeners says when it refuses one (then only SSL is measured).
NO_SASL = "SASL listeners are not supported"


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def metric_key(listener: str) -> str:
    return f"tls_{listener.lower()}"


@dataclass(frozen=True)
class Setup:
    """The certificates and which listeners to open beside PLAINTEXT."""

    ca: Path
    keystore: Path
    sasl: bool = True

    @property
    def listeners(self) -> dict[str, str]:
        return {"SSL": "SSL", **({"SASL_SSL": "SASL_SSL"} if self.sasl else {})}

    def overrides(self) -> dict[str, str]:
        settings = {"ssl.keystore.type": "PEM", "ssl.keystore.location": str(self.keystore)}
        if self.sasl:
            settings["sasl.enabled.mechanisms"] = "PLAIN"
            settings["listener.name.sasl_ssl.plain.sasl.jaas.config"] = JAAS
        return settings

    def client(self, listener: str) -> dict[str, object]:
        if listener == "PLAINTEXT":
            return {}
        conf: dict[str, object] = {"security.protocol": listener, "ssl.ca.location": str(self.ca)}
        if listener == "SASL_SSL":
            conf.update({"sasl.mechanism": "PLAIN", "sasl.username": USER, "sasl.password": PASSWORD})
        return conf


def certificates(workdir: Path) -> Setup:
    """A CA and a server certificate for 127.0.0.1/localhost, written with kafkalite's own helper."""
    brokers._reference_module()  # puts the checkout on sys.path, as for the reference broker
    from kafkalite.server.tls import write_self_signed

    made = write_self_signed(workdir / "certs")
    return Setup(made.ca, made.keystore)


def start(
    spec: brokers.BrokerSpec, workdir: Path, tag: str, setup: Setup
) -> tuple[brokers.RunningBroker, dict[str, str]]:
    """The broker with its PLAINTEXT listener plus ``setup``'s; the address of each listener."""
    if spec.name == "kafka":
        factory = functools.partial(
            brokers.ReferenceBroker, extra_listeners=setup.listeners, overrides=setup.overrides()
        )
        broker, _ = brokers.start(replace(spec, factory=factory), workdir, tag)
        assert isinstance(broker, brokers.ReferenceBroker)
        return broker, {
            "PLAINTEXT": broker.bootstrap,
            **{name: broker.kafka.listener_bootstrap(name) for name in setup.listeners},
        }
    ports = {name: brokers.free_port() for name in setup.listeners}
    extra = "".join(f",{name}://{brokers.HOST}:{port}" for name, port in ports.items())

    def argv(port: int, data_dir: Path) -> list[str]:
        settings = {"listeners": f"PLAINTEXT://{brokers.HOST}:{port}{extra}", **setup.overrides()}
        return [*spec.argv(port, data_dir), *[a for k, v in settings.items() for a in ("--override", f"{k}={v}")]]

    broker, _ = brokers.start(replace(spec, argv=argv), workdir, tag)
    return broker, {"PLAINTEXT": broker.bootstrap, **{n: f"{brokers.HOST}:{p}" for n, p in ports.items()}}


def run_security(spec: brokers.BrokerSpec, plan: Plan, workdir: Path, res: BrokerResult) -> None:
    """Measure the TLS rows for one broker into ``res`` (n/a for brokers not in SECURE_BROKERS)."""
    case = plan.security
    if case is None:
        return
    keys = [metric_key(listener) for listener in LISTENERS]
    if spec.name not in SECURE_BROKERS:
        for key in keys:
            res.metrics[f"produce_{key}_msgs_s"] = res.metrics[f"produce_{key}_mb_s"] = math.nan
        res.metrics["ssl_vs_plaintext_ratio"] = res.metrics["sasl_ssl_vs_plaintext_ratio"] = math.nan
        return
    setup = certificates(workdir)
    try:
        try:
            broker, addresses = start(spec, workdir, "secure", setup)
        except brokers.BrokerFailed as exc:
            if NO_SASL not in str(exc):
                raise
            res.errors[f"produce_{metric_key('SASL_SSL')}_msgs_s"] = f"the broker refused a SASL_SSL listener: {exc}"
            setup = replace(setup, sasl=False)
            broker, addresses = start(spec, workdir, "secure-ssl", setup)
    except brokers.BrokerFailed as exc:
        res.errors["tls"] = f"could not start with TLS listeners: {exc}"
        return
    runs: dict[str, list[scenarios.PhaseResult]] = {name: [] for name in addresses}
    try:
        for listener in addresses:  # untimed: a fresh JVM's JIT (and each TLS path) warms up first
            brokers.check_interrupted()
            scenarios.ensure_topic(broker.bootstrap, f"bench-{metric_key(listener)}-warmup")
            _log(f"{spec.name}: warm-up, {case.count:,} x {case.label} over {listener} (not counted)")
            scenarios.produce(addresses[listener], f"bench-{metric_key(listener)}-warmup", case,
                              plan.phase_timeout_s, setup.client(listener))
        for run in range(plan.throughput_runs):
            for listener in LISTENERS:
                if listener not in addresses:
                    continue
                brokers.check_interrupted()
                topic = f"bench-{metric_key(listener)}-{run + 1}"
                scenarios.ensure_topic(broker.bootstrap, topic)
                _log(
                    f"{spec.name}: produce {case.count:,} x {case.label} over {listener} "
                    f"(run {run + 1} of {plan.throughput_runs})"
                )
                out = scenarios.produce(addresses[listener], topic, case, plan.phase_timeout_s, setup.client(listener))
                runs[listener].append(out)
    except Exception as exc:
        brokers.check_interrupted()
        res.errors["tls"] = repr(exc) if broker.alive() else f"broker died ({exc!r})"
    finally:
        broker.stop()
    res.details["tls"] = {name: [o.as_dict() for o in outs] for name, outs in runs.items()}
    for listener, outs in runs.items():
        if not outs:
            continue
        key = f"produce_{metric_key(listener)}_msgs_s"
        out = sorted(outs, key=lambda o: o.msgs_per_s)[(len(outs) - 1) // 2]
        res.metrics[key] = out.msgs_per_s
        res.metrics[f"produce_{metric_key(listener)}_mb_s"] = out.mb_per_s
        bad = [o for o in outs if o.incomplete or o.errors]
        if bad:
            res.flags[key] = "; ".join(
                f"{o.messages:,}/{case.count:,} msgs in {o.seconds:.1f}s"
                + (f", {o.errors} errors (first: {o.first_error})" if o.errors else "")
                for o in bad
            )
    plain = res.metrics.get(f"produce_{metric_key('PLAINTEXT')}_msgs_s")
    for listener, ratio in (("SSL", "ssl_vs_plaintext_ratio"), ("SASL_SSL", "sasl_ssl_vs_plaintext_ratio")):
        value = res.metrics.get(f"produce_{metric_key(listener)}_msgs_s")
        if plain and value is not None:
            res.metrics[ratio] = value / plain
