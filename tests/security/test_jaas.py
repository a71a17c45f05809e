"""JAAS text as Kafka's JaasConfig parses sasl.jaas.config."""

from __future__ import annotations

import pytest

from kafkalite.security.jaas import JaasError, login_module_options, parse_jaas


def test_plain_login_module_with_users() -> None:
    entry = login_module_options(
        'org.apache.kafka.common.security.plain.PlainLoginModule required\n'
        '  username="admin" password="admin-secret"\n'
        '  user_admin="admin-secret" user_alice="alice;secret=with \\"quotes\\"";'
    )
    assert entry.login_module == "org.apache.kafka.common.security.plain.PlainLoginModule"
    assert entry.flag == "required"
    assert entry.options == {
        "username": "admin", "password": "admin-secret", "user_admin": "admin-secret",
        "user_alice": 'alice;secret=with "quotes"',
    }


def test_unquoted_values_single_quotes_and_comments() -> None:
    [entry] = parse_jaas(
        "/* development */ a.b.C optional // trailing\n key1=value-1 key_2='two words' $k=x.y;"
    )
    assert entry.flag == "optional"
    assert entry.options == {"key1": "value-1", "key_2": "two words", "$k": "x.y"}


def test_several_entries() -> None:
    entries = parse_jaas("a.B required; c.D sufficient x=\"1\";")
    assert [(e.login_module, e.flag, e.options) for e in entries] == [
        ("a.B", "required", {}), ("c.D", "sufficient", {"x": "1"})
    ]
    with pytest.raises(JaasError, match="contains 2 login modules, should be 1 module"):
        login_module_options("a.B required; c.D sufficient;")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "does not contain a login module"),
        ("a.B", "control flag not specified"),
        ("a.B mandatory;", "Invalid login module control flag 'mandatory'"),
        ('a.B required user_x="y"', "not terminated by semi-colon"),
        ("a.B required user_x=;", "Value not specified for key 'user_x'"),
        ("a.B required user_x;", "Value not specified for key 'user_x'"),
        ("= required;", "Login module not specified"),
    ],
)
def test_invalid_text_gets_kafkas_message(text: str, message: str) -> None:
    with pytest.raises(JaasError, match=message):
        parse_jaas(text)
