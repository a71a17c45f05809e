"""The ``kafkalite`` command line. ``serve`` runs a broker; every flag also reads an env var.

The client tools (``topics``, ``produce``, ``consume``, ``groups``) live in ``kafkalite.tools``
and are registered at the end of this module.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

from kafkalite import __version__
from kafkalite.config import (
    BROKER_CONFIGS,
    DEFAULT_DATA_DIR,
    FSYNC_POLICIES,
    BrokerConfig,
    ConfigError,
    load_properties_file,
)


def run_event_loop(main_coroutine: Coroutine[Any, Any, None]) -> None:
    """Run the broker on uvloop when it is installed (lower latency), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main_coroutine)
        return
    uvloop.run(main_coroutine)


@click.group()
@click.version_option(__version__, prog_name="kafkalite")
def main() -> None:
    """kafkalite: a Kafka broker for CI and laptops that speaks the real Kafka protocol."""


@main.command()
@click.option(
    "--config",
    "config_file",
    envvar="KAFKALITE_CONFIG",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A server.properties file with Kafka's setting names; flags and env vars override it.",
)
@click.option(
    "--override",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set one Kafka-named setting (repeatable), e.g. --override log.retention.check.interval.ms=1000.",
)
@click.option(
    "--host",
    envvar="KAFKALITE_HOST",
    default=None,
    show_default=BROKER_CONFIGS["host"].default,
    help="Address to listen on (0.0.0.0 for all interfaces).",
)
@click.option(
    "--port",
    envvar="KAFKALITE_PORT",
    default=None,
    show_default=BROKER_CONFIGS["port"].default,
    type=int,
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--brokers",
    envvar="KAFKALITE_BROKERS",
    default=None,
    show_default=BROKER_CONFIGS["kafkalite.brokers"].default,
    type=click.IntRange(1, 64),
    help="Simulate a cluster of N brokers in this process: node ids 1..N on ports consecutive from --port "
    "(all free with --port 0); bootstrap.servers lists them all.",
)
@click.option(
    "--advertised-host",
    envvar="KAFKALITE_ADVERTISED_HOST",
    default=None,
    help="Host clients are told to connect to (defaults to --host).",
)
@click.option(
    "--advertised-port",
    envvar="KAFKALITE_ADVERTISED_PORT",
    default=None,
    type=int,
    help="Port clients are told to connect to (defaults to --port).",
)
@click.option(
    "--data-dir",
    envvar="KAFKALITE_DATA_DIR",
    default=None,
    show_default=f"./{DEFAULT_DATA_DIR}",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where segment files live (Kafka's log.dirs).",
)
@click.option(
    "--fsync",
    envvar="KAFKALITE_FSYNC",
    default=None,
    show_default=BROKER_CONFIGS["kafkalite.fsync"].default,
    type=click.Choice(FSYNC_POLICIES),
    help="never: leave flushing to the OS; interval: fsync every --fsync-interval-ms; "
    "always: fsync before acknowledging.",
)
@click.option(
    "--fsync-interval-ms",
    envvar="KAFKALITE_FSYNC_INTERVAL_MS",
    default=None,
    show_default=BROKER_CONFIGS["kafkalite.fsync.interval.ms"].default,
    type=int,
)
@click.option(
    "--num-partitions",
    envvar="KAFKALITE_NUM_PARTITIONS",
    default=None,
    show_default=BROKER_CONFIGS["num.partitions"].default,
    type=int,
    help="Partitions of auto-created topics (Kafka's num.partitions).",
)
@click.option(
    "--auto-create-topics/--no-auto-create-topics",
    envvar="KAFKALITE_AUTO_CREATE_TOPICS",
    default=None,
    show_default="on",
    help="Kafka's auto.create.topics.enable.",
)
@click.option(
    "--message-max-bytes",
    envvar="KAFKALITE_MESSAGE_MAX_BYTES",
    default=None,
    show_default=BROKER_CONFIGS["message.max.bytes"].default,
    type=int,
    help="Largest record batch accepted (Kafka's message.max.bytes).",
)
@click.option(
    "--log-requests",
    envvar="KAFKALITE_LOG_REQUESTS",
    is_flag=True,
    help="Log every request's API, version, client id and correlation id.",
)
@click.option(
    "--metrics-port",
    envvar="KAFKALITE_METRICS_PORT",
    default=None,
    type=int,
    help="Serve Prometheus metrics on http://HOST:PORT/metrics (off by default; 0 picks a free port).",
)
@click.option(
    "--control-port",
    envvar="KAFKALITE_CONTROL_PORT",
    default=None,
    type=int,
    help="Serve the fault control endpoint (HTTP+JSON, no authentication: for tests) on http://HOST:PORT/faults "
    "(off by default; 0 picks a free port; also served on --metrics-port). See `kafkalite faults`.",
)
@click.option(
    "--tls-self-signed",
    envvar="KAFKALITE_TLS_SELF_SIGNED",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Development TLS: write (or reuse) a CA and a localhost certificate in DIR and open an SSL "
    "listener on the next port (--port + N with --brokers N; unless listeners says otherwise); prints the "
    "client settings.",
)
@click.option(
    "--sasl-plain-user",
    "sasl_plain_users",
    envvar="KAFKALITE_SASL_PLAIN_USERS",
    multiple=True,
    metavar="NAME:PASSWORD",
    help="Development SASL: a PLAIN user (repeatable) of a SASL_PLAINTEXT listener opened on --port + 2 "
    "(--port + 2N with --brokers N) "
    "(unless listeners has one); prints the client settings.",
)
@click.option(
    "--add-scram",
    "add_scram",
    multiple=True,
    metavar="ENTRY",
    help="An initial SCRAM user as kafka-storage format --add-scram takes it (repeatable), e.g. "
    "'SCRAM-SHA-256=[name=alice,password=alice-secret]' (also iterations=, salt=, saltedpassword=); "
    "added at start unless the user already has a credential for that mechanism.",
)
@click.option("--log-level", envvar="KAFKALITE_LOG_LEVEL", default="INFO", show_default=True)
def serve(
    config_file: Path | None,
    overrides: tuple[str, ...],
    host: str | None,
    port: int | None,
    brokers: int | None,
    advertised_host: str | None,
    advertised_port: int | None,
    data_dir: Path | None,
    fsync: str | None,
    fsync_interval_ms: int | None,
    num_partitions: int | None,
    auto_create_topics: bool | None,
    message_max_bytes: int | None,
    log_requests: bool,
    metrics_port: int | None,
    control_port: int | None,
    tls_self_signed: Path | None,
    sasl_plain_users: tuple[str, ...],
    add_scram: tuple[str, ...],
    log_level: str,
) -> None:
    """Run a broker until SIGINT or SIGTERM."""
    started = time.monotonic()
    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    flags: dict[str, object] = {
        "host": host,
        "port": port,
        "kafkalite.brokers": brokers,
        "advertised.host.name": advertised_host,
        "advertised.port": advertised_port,
        "log.dirs": data_dir,
        "kafkalite.fsync": fsync,
        "kafkalite.fsync.interval.ms": fsync_interval_ms,
        "num.partitions": num_partitions,
        "auto.create.topics.enable": None if auto_create_topics is None else str(auto_create_topics).lower(),
        "message.max.bytes": message_max_bytes,
    }
    settings = {name: str(value) for name, value in flags.items() if value is not None}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--override")
        settings[name.strip()] = value
    try:
        props = load_properties_file(config_file) if config_file is not None else {}
        if "log.dirs" not in {**props, **settings} and "log.dir" not in props:
            settings["log.dirs"] = f"./{DEFAULT_DATA_DIR}"
        if add_scram:  # added to the entries of kafkalite.add.scram, wherever that is set
            configured = settings.get("kafkalite.add.scram", props.get("kafkalite.add.scram", ""))
            settings["kafkalite.add.scram"] = ";".join(e for e in (configured, *add_scram) if e.strip())
        config = BrokerConfig.from_properties(props, settings)
        tls_ca = _self_signed(config, tls_self_signed) if tls_self_signed is not None else None
        plain_users = _sasl_plain_users(config, sasl_plain_users) if sasl_plain_users else None
    except ConfigError as exc:
        raise click.ClickException(f"invalid configuration: {exc}") from exc
    from kafkalite.server.app import StartupError

    try:
        run_event_loop(_serve(config, log_requests, metrics_port, started, tls_ca, plain_users, control_port))
    except StartupError as exc:
        raise click.ClickException(str(exc)) from exc


def _self_signed(config: BrokerConfig, directory: Path) -> Path:
    """Write or reuse the development certificates; add an SSL listener and its keystore unless configured."""
    from kafkalite.server.tls import write_self_signed

    files = write_self_signed(directory)
    static = config.static_configs
    if "listeners" not in static:
        ssl_port = config.port + config.brokers if config.port else 0  # after every node's plaintext port
        static["listeners"] = f"PLAINTEXT://{config.host}:{config.port},SSL://{config.host}:{ssl_port}"
    if not any(k in static for k in ("ssl.keystore.location", "ssl.keystore.certificate.chain")):
        static["ssl.keystore.type"] = "PEM"
        static["ssl.keystore.location"] = str(files.keystore.resolve())
        if "ssl.truststore.location" not in static and "ssl.truststore.certificates" not in static:
            static["ssl.truststore.type"] = "PEM"
            static["ssl.truststore.location"] = str(files.ca.resolve())
    return files.ca.resolve()


def _sasl_plain_users(config: BrokerConfig, entries: tuple[str, ...]) -> dict[str, str]:
    """Add a SASL_PLAINTEXT listener with these PLAIN users unless the configuration already says otherwise."""
    users: dict[str, str] = {}
    for entry in entries:
        name, sep, password = entry.partition(":")
        if not sep or not name or not password:
            raise ConfigError(f"--sasl-plain-user expects NAME:PASSWORD, got {entry!r}")
        users[name] = password
    static = config.static_configs
    listeners = static.get("listeners") or f"PLAINTEXT://{config.host}:{config.port}"
    if "SASL_PLAINTEXT://" not in listeners:
        sasl_port = config.port + 2 * config.brokers if config.port else 0  # after every node's SSL port
        static["listeners"] = f"{listeners},SASL_PLAINTEXT://{config.host}:{sasl_port}"
    if "sasl.enabled.mechanisms" not in static and not any(
        key.endswith(".sasl.enabled.mechanisms") for key in config.listener_settings
    ):
        static["sasl.enabled.mechanisms"] = "PLAIN"
    key = "listener.name.sasl_plaintext.plain.sasl.jaas.config"
    if key not in config.listener_settings:
        entries_text = " ".join(f'user_{name}="{password}"' for name, password in users.items())
        module = "org.apache.kafka.common.security.plain.PlainLoginModule"
        config.listener_settings[key] = f"{module} required {entries_text};"
    return users


def _print_sasl_settings(server: object, users: dict[str, str]) -> None:
    """The client settings for the SASL_PLAINTEXT listener (librdkafka, kafka-python, Java)."""
    name, password = next(iter(users.items()))
    for listener in getattr(server, "listeners", []):
        if listener.protocol != "SASL_PLAINTEXT":
            continue
        host, port = listener.advertised
        print(
            f"SASL listener {listener.name} on {host}:{port} (PLAIN users: {', '.join(users)}); client settings:\n"
            f"  librdkafka/confluent-kafka/kcat: bootstrap.servers={host}:{port} security.protocol=SASL_PLAINTEXT "
            f"sasl.mechanism=PLAIN sasl.username={name} sasl.password={password}\n"
            f"  kafka-python/aiokafka: bootstrap_servers='{host}:{port}', security_protocol='SASL_PLAINTEXT', "
            f"sasl_mechanism='PLAIN', sasl_plain_username='{name}', sasl_plain_password='{password}'\n"
            f"  Java: bootstrap.servers={host}:{port} security.protocol=SASL_PLAINTEXT sasl.mechanism=PLAIN "
            f'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="{name}" '
            f'password="{password}";',
            flush=True,
        )


def _print_tls_settings(server: object, ca: Path) -> None:
    """The client settings for the SSL listeners (librdkafka, kafka-python, Java)."""
    for listener in getattr(server, "listeners", []):
        if listener.protocol != "SSL":
            continue
        host, port = listener.advertised
        print(
            f"TLS listener {listener.name} on {host}:{port}; client settings:\n"
            f"  librdkafka/confluent-kafka/kcat: bootstrap.servers={host}:{port} security.protocol=SSL "
            f"ssl.ca.location={ca}\n"
            f"  kafka-python/aiokafka: bootstrap_servers='{host}:{port}', security_protocol='SSL', ssl_cafile='{ca}'\n"
            f"  Java: bootstrap.servers={host}:{port} security.protocol=SSL ssl.truststore.type=PEM "
            f"ssl.truststore.location={ca}",
            flush=True,
        )


async def _serve(
    config: BrokerConfig,
    log_requests: bool,
    metrics_port: int | None,
    started: float,
    tls_ca: Path | None = None,
    plain_users: dict[str, str] | None = None,
    control_port: int | None = None,
) -> None:
    from kafkalite.server.app import KafkaliteServer

    server = KafkaliteServer(config, log_requests=log_requests, metrics_port=metrics_port, control_port=control_port)
    if server.metrics is not None:
        server.metrics.add_process_metrics()
    await server.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(server.stop()))
    elapsed_ms = (time.monotonic() - started) * 1000
    metrics = f", metrics on port {server.metrics_port}" if server.metrics is not None else ""
    if server.control is not None:
        metrics += f", fault control on http://{config.host}:{server.control_port}"
    print(
        f"kafkalite ready: bootstrap.servers={server.bootstrap_servers} "
        f"(listening on {config.host}:{config.port}, data in {config.data_dir}{metrics}, {elapsed_ms:.0f} ms)",
        flush=True,
    )
    if len(server.listeners) > 1:
        listed = ", ".join(f"{name}://{host}:{port}" for name, (host, port) in server.listener_addresses.items())
        print(f"kafkalite listeners: {listed}", flush=True)
    if tls_ca is not None:
        _print_tls_settings(server, tls_ca)
    if plain_users:
        _print_sasl_settings(server, plain_users)
    await server.wait_stopped()


@main.command()
def apis() -> None:
    """Print the supported API keys and versions as a markdown table (the ApiVersions answer)."""
    from kafkalite.broker.handlers import APIS

    click.echo("| API | key | versions |")
    click.echo("|---|---|---|")
    for spec in sorted(APIS.values(), key=lambda s: s.key):
        if not spec.advertised:  # answered but, as Kafka, not in ApiVersions (client telemetry)
            continue
        click.echo(f"| {spec.name} | {spec.key} | {spec.min_version}-{spec.max_version} |")


def _register_tools() -> None:
    from kafkalite.tools.acls import acls
    from kafkalite.tools.client_metrics import client_metrics
    from kafkalite.tools.conformance import conformance
    from kafkalite.tools.consume import consume
    from kafkalite.tools.faults import faults
    from kafkalite.tools.groups import groups
    from kafkalite.tools.produce import produce
    from kafkalite.tools.quotas import quotas
    from kafkalite.tools.topics import topics
    from kafkalite.tools.users import users

    for command in (topics, produce, consume, groups, acls, conformance, users, quotas, faults, client_metrics):
        main.add_command(command)


_register_tools()
