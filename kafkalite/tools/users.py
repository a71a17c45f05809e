"""``kafkalite users list|add|delete``: SCRAM users, as ``kafka-configs --entity-type users`` manages them.

Talks DescribeUserScramCredentials / AlterUserScramCredentials through confluent-kafka's
AdminClient, so it works against Apache Kafka as against kafkalite; the password is salted on
this side (the broker only ever receives the salted password). Kafka refuses two alterations of one
user in one request, so each mechanism is a request of its own.
"""

from __future__ import annotations

from typing import Any

import click

from kafkalite.tools.common import (
    TIMEOUT_SECONDS,
    admin_client,
    bootstrap_option,
    emit,
    error_text,
    fail,
    output_option,
    result,
)

MECHANISM_NAMES = ("SCRAM-SHA-256", "SCRAM-SHA-512")


def _mechanism(name: str) -> Any:
    from confluent_kafka.admin import ScramMechanism

    return ScramMechanism[name.replace("-", "_")]


def _mechanism_name(mechanism: Any) -> str:
    return str(getattr(mechanism, "name", mechanism)).replace("_", "-")


def describe(admin: Any, names: list[str] | None) -> dict[str, Any]:
    """user -> UserScramCredentialsDescription; a user without credentials is left out."""
    from confluent_kafka import KafkaError, KafkaException

    if not names:
        return dict(result(admin.describe_user_scram_credentials(request_timeout=TIMEOUT_SECONDS),
                           "cannot list users"))
    out: dict[str, Any] = {}
    futures = admin.describe_user_scram_credentials(names, request_timeout=TIMEOUT_SECONDS)
    for name, future in futures.items():
        try:
            out[name] = future.result(TIMEOUT_SECONDS)
        except KafkaException as exc:
            if exc.args and getattr(exc.args[0], "code", lambda: None)() == KafkaError.RESOURCE_NOT_FOUND:
                continue
            raise fail(f"cannot describe user {name}: {error_text(exc)}") from exc
    return out


@click.group()
def users() -> None:
    """List, add and delete SCRAM users (SCRAM-SHA-256 / SCRAM-SHA-512 credentials)."""


@users.command("list")
@click.argument("names", nargs=-1)
@bootstrap_option
@output_option
def list_users(names: tuple[str, ...], bootstrap: str, client_config: tuple[str, ...], output: str) -> None:
    """List users with SCRAM credentials (all of them, or the NAMES given)."""
    admin = admin_client(bootstrap, client_config)
    rows = [
        {"user": user, "mechanism": _mechanism_name(info.mechanism), "iterations": info.iterations}
        for user, desc in sorted(describe(admin, list(names)).items())
        for info in sorted(desc.scram_credential_infos, key=lambda i: _mechanism_name(i.mechanism))
    ]
    emit(rows, ["user", "mechanism", "iterations"], output)


def _alter(admin: Any, alteration: Any, user: str, what: str) -> None:
    futures = admin.alter_user_scram_credentials([alteration], request_timeout=TIMEOUT_SECONDS)
    result(futures[user], what)


@users.command("add")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="The password (prompted for when not given).")
@click.option("--mechanism", "mechanisms", multiple=True, type=click.Choice(MECHANISM_NAMES),
              help="Repeatable; default: SCRAM-SHA-256 and SCRAM-SHA-512.")
@click.option("--iterations", default=4096, show_default=True, type=int, help="4096..16384, as Kafka accepts.")
@bootstrap_option
def add_user(name: str, password: str, mechanisms: tuple[str, ...], iterations: int, bootstrap: str,
             client_config: tuple[str, ...]) -> None:
    """Add a SCRAM user, or change its password."""
    from confluent_kafka.admin import ScramCredentialInfo, UserScramCredentialUpsertion

    admin = admin_client(bootstrap, client_config)
    for mechanism in mechanisms or MECHANISM_NAMES:
        info = ScramCredentialInfo(_mechanism(mechanism), iterations)
        _alter(admin, UserScramCredentialUpsertion(name, info, password.encode("utf-8")), name,
               f"cannot set {mechanism} credential of {name}")
        click.echo(f"{mechanism} credential of {name} set ({iterations} iterations)")


@users.command("delete")
@click.argument("name")
@click.option("--mechanism", "mechanisms", multiple=True, type=click.Choice(MECHANISM_NAMES),
              help="Repeatable; default: every mechanism the user has.")
@bootstrap_option
def delete_user(name: str, mechanisms: tuple[str, ...], bootstrap: str, client_config: tuple[str, ...]) -> None:
    """Delete a SCRAM user's credentials."""
    from confluent_kafka.admin import UserScramCredentialDeletion

    admin = admin_client(bootstrap, client_config)
    if not mechanisms:
        found = describe(admin, [name]).get(name)
        if found is None:
            raise fail(f"user {name} has no SCRAM credentials")
        mechanisms = tuple(_mechanism_name(i.mechanism) for i in found.scram_credential_infos)
    for mechanism in mechanisms:
        _alter(admin, UserScramCredentialDeletion(name, _mechanism(mechanism)), name,
               f"cannot delete {mechanism} credential of {name}")
        click.echo(f"{mechanism} credential of {name} deleted")
