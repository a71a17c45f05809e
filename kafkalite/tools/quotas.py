"""``kafkalite quotas list|set|remove``: client quotas, in the spirit of kafka-configs.sh.

``--user NAME`` / ``--client-id NAME`` / ``--ip ADDR`` name the entity (``--user-default`` etc. its
default entity, as kafka-configs.sh's ``--entity-default``); ``set`` takes ``KEY=VALUE`` pairs
(``producer_byte_rate=1048576``), ``remove`` the keys. Neither librdkafka nor kafka-python's admin
client has the client quota APIs, so the requests are sent through kafka-python's connection
manager as raw DescribeClientQuotas / AlterClientQuotas: the same commands work against Apache Kafka.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from kafkalite.tools.common import bootstrap_option, emit, output_option, parse_pairs

#: librdkafka setting names (the other tools' ``-X``) -> kafka-python's, for the settings that matter here.
_KAFKA_PYTHON_NAMES = {
    "security.protocol": "security_protocol",
    "sasl.mechanism": "sasl_mechanism",
    "sasl.mechanisms": "sasl_mechanism",
    "sasl.username": "sasl_plain_username",
    "sasl.password": "sasl_plain_password",
    "ssl.ca.location": "ssl_cafile",
    "ssl.certificate.location": "ssl_certfile",
    "ssl.key.location": "ssl_keyfile",
    "ssl.key.password": "ssl_password",
    "client.id": "client_id",
}

MATCH_EXACT, MATCH_DEFAULT, MATCH_SPECIFIED = 0, 1, 2


def admin(bootstrap: str, client_config: Sequence[str] = ()) -> Any:
    """A kafka-python admin client; ``-X`` settings use librdkafka's names, as the other tools'."""
    from kafka.admin import KafkaAdminClient

    settings: dict[str, Any] = {"bootstrap_servers": bootstrap.split(","), "client_id": "kafkalite-cli"}
    for key, value in parse_pairs(client_config, "-X").items():
        name = _KAFKA_PYTHON_NAMES.get(key)
        if name is None:
            raise click.BadParameter(f"{key} is not a setting this command knows", param_hint="-X")
        settings[name] = value
    return KafkaAdminClient(**settings)


def _send(client: Any, request: Any) -> Any:
    """One request to any broker, through the admin client's network thread."""

    async def send() -> Any:
        return await client._manager.send(request)

    return client._manager.run(send)


def describe(client: Any, components: Sequence[tuple[str, int, str | None]] = (), strict: bool = False
             ) -> list[tuple[dict[str, str | None], dict[str, float]]]:
    """DescribeClientQuotas: (entity as {type: name or None}, {key: value}) per matching entity."""
    from kafka.errors import for_code
    from kafka.protocol.admin import DescribeClientQuotasRequest

    component = DescribeClientQuotasRequest.ComponentData
    request = DescribeClientQuotasRequest(
        components=[component(entity_type=t, match_type=m, match=n) for t, m, n in components], strict=strict
    )
    response = _send(client, request)
    if response.error_code:
        raise for_code(response.error_code)(response.error_message)
    return [
        ({e.entity_type: e.entity_name for e in entry.entity}, {v.key: v.value for v in entry.values})
        for entry in response.entries or []
    ]


def alter(client: Any, entries: Sequence[tuple[dict[str, str | None], dict[str, float | None]]],
          validate_only: bool = False) -> list[tuple[dict[str, str | None], int, str | None]]:
    """AlterClientQuotas: per entity {key: value, or None to remove}; (entity, error code, message) back."""
    from kafka.protocol.admin import AlterClientQuotasRequest

    entry_cls = AlterClientQuotasRequest.EntryData
    request = AlterClientQuotasRequest(
        entries=[
            entry_cls(
                entity=[entry_cls.EntityData(entity_type=t, entity_name=n) for t, n in entity.items()],
                ops=[
                    entry_cls.OpData(key=k, value=0.0 if v is None else float(v), remove=v is None)
                    for k, v in ops.items()
                ],
            )
            for entity, ops in entries
        ],
        validate_only=validate_only,
    )
    response = _send(client, request)
    return [
        ({e.entity_type: e.entity_name for e in entry.entity}, entry.error_code, entry.error_message)
        for entry in response.entries
    ]


def _entity(user: str | None, user_default: bool, client_id: str | None, client_default: bool, ip: str | None,
            ip_default: bool) -> dict[str, str | None]:
    entity: dict[str, str | None] = {}
    if user is not None or user_default:
        entity["user"] = user
    if client_id is not None or client_default:
        entity["client-id"] = client_id
    if ip is not None or ip_default:
        entity["ip"] = ip
    return entity


def _entity_options(func: Any) -> Any:
    for option in (
        click.option("--ip-default", is_flag=True, help="The default IP entity."),
        click.option("--ip", help="An IP address (connection_creation_rate)."),
        click.option("--client-default", is_flag=True, help="The default client-id entity."),
        click.option("--client-id", "client_id", help="A client id."),
        click.option("--user-default", is_flag=True, help="The default user entity."),
        click.option("--user", help="A user (principal name without User:)."),
    ):
        func = option(func)
    return func


def _show(entity: dict[str, str | None]) -> str:
    return ", ".join(f"{t}={'<default>' if n is None else n}" for t, n in entity.items())


@click.group()
def quotas() -> None:
    """Client quotas: producer/consumer byte rates and request percentages per user and client id."""


@quotas.command("list")
@bootstrap_option
@output_option
@_entity_options
def list_quotas(bootstrap: str, client_config: tuple[str, ...], output: str, user: str | None,
                user_default: bool, client_id: str | None, client_default: bool, ip: str | None,
                ip_default: bool) -> None:
    """Quotas of every entity, or of those matching --user/--client-id/--ip (exact names)."""
    components: list[tuple[str, int, str | None]] = []
    for kind, name, default in (("user", user, user_default), ("client-id", client_id, client_default),
                                ("ip", ip, ip_default)):
        if default:
            components.append((kind, MATCH_DEFAULT, None))
        elif name is not None:
            components.append((kind, MATCH_EXACT, name))
    client = admin(bootstrap, client_config)
    try:
        found = describe(client, components)
    except Exception as exc:  # a Kafka error class from for_code, or a connection failure
        raise click.ClickException(f"could not describe quotas: {exc}") from exc
    finally:
        client.close()
    rows = [
        {"entity": _show(entity), "quota": key, "value": value}
        for entity, values in found
        for key, value in sorted(values.items())
    ]
    emit(rows, ["entity", "quota", "value"], output)


def _alter(bootstrap: str, client_config: tuple[str, ...], entity: dict[str, str | None],
           ops: dict[str, float | None], validate_only: bool) -> None:
    if not entity:
        raise click.UsageError("name an entity: --user, --client-id or --ip (or their --*-default)")
    client = admin(bootstrap, client_config)
    try:
        results = alter(client, [(entity, ops)], validate_only)
    finally:
        client.close()
    for shown, code, message in results:
        if code:
            raise click.ClickException(f"{_show(shown)}: {message} (error {code})")
    click.echo(f"{'validated' if validate_only else 'altered'} quotas of {_show(entity)}")


@quotas.command("set")
@bootstrap_option
@_entity_options
@click.option("--validate-only", is_flag=True, help="Check the change without making it.")
@click.argument("values", nargs=-1, required=True, metavar="KEY=VALUE...")
def set_quotas(bootstrap: str, client_config: tuple[str, ...], user: str | None, user_default: bool,
               client_id: str | None, client_default: bool, ip: str | None, ip_default: bool,
               validate_only: bool, values: tuple[str, ...]) -> None:
    """Set quotas, e.g. ``kafkalite quotas set --user alice producer_byte_rate=1048576``."""
    ops: dict[str, float | None] = {}
    for key, text in parse_pairs(values, "KEY=VALUE").items():
        try:
            ops[key] = float(text)
        except ValueError:
            raise click.BadParameter(f"{text!r} is not a number", param_hint=key) from None
    _alter(bootstrap, client_config, _entity(user, user_default, client_id, client_default, ip, ip_default),
           ops, validate_only)


@quotas.command("remove")
@bootstrap_option
@_entity_options
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
def remove_quotas(bootstrap: str, client_config: tuple[str, ...], user: str | None, user_default: bool,
                  client_id: str | None, client_default: bool, ip: str | None, ip_default: bool,
                  keys: tuple[str, ...]) -> None:
    """Remove quotas, e.g. ``kafkalite quotas remove --user alice producer_byte_rate``."""
    _alter(bootstrap, client_config, _entity(user, user_default, client_id, client_default, ip, ip_default),
           dict.fromkeys(keys), False)
