"""SCRAM server side: RFC 7677's exchange byte for byte, Kafka's refusals, and kafka-python's client."""

from __future__ import annotations

import base64

import pytest
from kafka.net.sasl.scram import ScramClient

from kafkalite.security.oauthbearer import MechanismError
from kafkalite.security.sasl import SaslAuthenticationFailed, ScramCredential
from kafkalite.security.scram import (
    AUTHZID_MISMATCH,
    ScramServer,
    credential_from_salted,
    make_credential,
    salted_password,
    sasl_name,
    username,
)

# RFC 7677 section 3.
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
RFC_SERVER_FIRST = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
RFC_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
GENERIC_256 = (
    "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
)


def store(*creds: tuple[str, ScramCredential]) -> dict[tuple[str, str], ScramCredential]:
    return {(user, cred.mechanism): cred for user, cred in creds}


def rfc_server(users: dict[tuple[str, str], ScramCredential] | None = None) -> ScramServer:
    if users is None:
        users = store(("user", make_credential("SCRAM-SHA-256", "pencil", 4096, RFC_SALT)))
    return ScramServer("SCRAM-SHA-256", lambda u, m: users.get((u, m)), nonce=lambda: RFC_SERVER_NONCE)


def test_rfc7677_exchange() -> None:
    server = rfc_server()
    assert server.evaluate(RFC_CLIENT_FIRST) == RFC_SERVER_FIRST
    assert not server.complete
    assert server.evaluate(RFC_CLIENT_FINAL) == RFC_SERVER_FINAL
    assert server.complete
    assert server.principal == "User:user"
    assert server.lifetime_ms is None


def test_credential_derivation_matches_rfc_keys() -> None:
    salted = salted_password("SCRAM-SHA-256", "pencil", RFC_SALT, 4096)
    assert credential_from_salted("SCRAM-SHA-256", RFC_SALT, salted, 4096) == make_credential(
        "SCRAM-SHA-256", "pencil", 4096, RFC_SALT
    )
    assert len(salted) == 32
    assert len(salted_password("SCRAM-SHA-512", "pencil", RFC_SALT, 4096)) == 64


def test_wrong_proof_is_generic_failure() -> None:
    server = rfc_server()
    server.evaluate(RFC_CLIENT_FIRST)
    bad = RFC_CLIENT_FINAL[:-8] + b"AAAAAAA="
    with pytest.raises(SaslAuthenticationFailed) as info:
        server.evaluate(bad)
    assert type(info.value) is MechanismError  # the client is told GENERIC_256 (security/sasl_state.py)
    assert not server.complete
    with pytest.raises(SaslAuthenticationFailed):
        server.evaluate(RFC_CLIENT_FINAL)  # a failed exchange stays failed


@pytest.mark.parametrize(
    "first",
    [
        b"n,,n=nobody,r=abc",  # unknown user: same answer as a bad password
        b"y,,n=user,r=abc",  # channel binding flags Kafka does not support
        b"p=tls-unique,,n=user,r=abc",
        b"n,,n=us=er,r=abc",  # a stray '=' in the name
        b"n,,n=user",  # no nonce
        b"n,,n=user,r=abc,tokenauth=true",  # delegation tokens
        b"\xff\xfe",
        b"",
    ],
)
def test_client_first_refusals_are_generic(first: bytes) -> None:
    with pytest.raises(SaslAuthenticationFailed) as info:
        rfc_server().evaluate(first)
    assert type(info.value) is MechanismError  # the client is told GENERIC_256 (security/sasl_state.py)


def test_authzid_other_than_user_has_its_own_message() -> None:
    with pytest.raises(SaslAuthenticationFailed) as info:
        rfc_server().evaluate(b"n,a=admin,n=user,r=abc")
    assert str(info.value) == AUTHZID_MISMATCH
    assert rfc_server().evaluate(b"n,a=user,n=user,r=abc").startswith(b"r=abc")


def test_nonce_must_carry_the_server_part() -> None:
    server = rfc_server()
    server.evaluate(RFC_CLIENT_FIRST)
    with pytest.raises(SaslAuthenticationFailed):
        server.evaluate(b"c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")


def test_credential_below_minimum_iterations_is_refused() -> None:
    users = store(("user", make_credential("SCRAM-SHA-256", "pencil", 4095, RFC_SALT)))
    with pytest.raises(SaslAuthenticationFailed):
        rfc_server(users).evaluate(RFC_CLIENT_FIRST)


def test_names_escape_as_kafka() -> None:
    assert sasl_name("a,b=c") == "a=2Cb=3Dc"
    assert username("a=2Cb=3Dc") == "a,b=c"
    with pytest.raises(ValueError):
        username("a=b")


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
@pytest.mark.parametrize("user", ["alice", "we,ird=name"])
def test_kafka_python_client_logs_in(mechanism: str, user: str) -> None:
    """kafka-python's own SCRAM client against this server, in process."""
    users = store((user, make_credential(mechanism, "s3cret", 8192)))
    server = ScramServer(mechanism, lambda u, m: users.get((u, m)))
    client = ScramClient(sasl_name(user), "s3cret", mechanism)
    client.process_server_first_message(server.evaluate(client.first_message()))
    client.process_server_final_message(server.evaluate(client.final_message()))  # raises on a bad signature
    assert server.complete and server.principal == f"User:{user}"


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kafka_python_client_wrong_password(mechanism: str) -> None:
    users = store(("alice", make_credential(mechanism, "s3cret")))
    server = ScramServer(mechanism, lambda u, m: users.get((u, m)))
    client = ScramClient("alice", "wrong", mechanism)
    client.process_server_first_message(server.evaluate(client.first_message()))
    with pytest.raises(SaslAuthenticationFailed) as info:
        server.evaluate(client.final_message())
    assert type(info.value) is MechanismError


def test_other_mechanism_credential_is_not_used() -> None:
    users = store(("alice", make_credential("SCRAM-SHA-512", "s3cret")))
    server = ScramServer("SCRAM-SHA-256", lambda u, m: users.get((u, m)))
    with pytest.raises(SaslAuthenticationFailed):
        server.evaluate(b"n,,n=alice,r=abc")


def _final_for(server_first: bytes, first_bare: str, password: str, channel: str = "biws") -> bytes:
    client = ScramClient("x", password, "SCRAM-SHA-256")
    client.nonce = b"abc"
    client.auth_message = first_bare.encode()  # what kafka-python would have sent as client-first-bare
    client.process_server_first_message(server_first)
    if channel != "biws":  # the same proof computation over another channel-binding value
        nonce = client.nonce.decode()
        client.auth_message = f"{first_bare},{server_first.decode()},c={channel},r={nonce}".encode()
        sig = client.hmac(client.stored_key, client.auth_message)
        proof = bytes(a ^ b for a, b in zip(client.client_key, sig, strict=True))
        return f"c={channel},r={nonce},p={base64.b64encode(proof).decode()}".encode()
    return client.final_message()


@pytest.mark.parametrize(
    ("first", "channel"),
    [
        ("n,,n=user,r=abc,foo=bar", "biws"),  # unknown extensions are ignored, but part of the auth message
        ("n,,n=user,r=abc", "eSws"),  # Kafka does not compare c= with the GS2 header: only the proof counts
    ],
)
def test_accepted_as_kafka_accepts(first: str, channel: str) -> None:
    """Cases Apache Kafka 4.4 was seen to accept with raw SaslAuthenticate frames."""
    server = rfc_server()
    server_first = server.evaluate(first.encode())
    server.evaluate(_final_for(server_first, first.split(",", 2)[2], "pencil", channel))
    assert server.complete


def test_non_ascii_name_is_refused_as_kafka() -> None:
    users = store(("élève", make_credential("SCRAM-SHA-256", "pencil")))
    server = ScramServer("SCRAM-SHA-256", lambda u, m: users.get((u, m)))
    with pytest.raises(SaslAuthenticationFailed) as info:
        server.evaluate("n,,n=élève,r=abc".encode())  # Kafka's SCRAM grammar is ASCII only
    assert type(info.value) is MechanismError  # the client is told GENERIC_256 (security/sasl_state.py)


def test_random_tokens_only_ever_fail_the_login() -> None:
    import random

    rng = random.Random(13)
    users = store(("user", make_credential("SCRAM-SHA-256", "pencil", 4096, RFC_SALT)))
    pieces = [b"n,,", b"n=user", b",r=", b"abc", b"c=biws", b",p=", b"=2C", b"=3D", b"\x00", b"\xff", b",", b"="]
    for _ in range(2000):
        server = rfc_server(users)
        tokens = [b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 8))) for _ in range(2)]
        if rng.random() < 0.5:
            tokens[0] = RFC_CLIENT_FIRST
        try:
            for token in tokens:
                server.evaluate(token)
        except SaslAuthenticationFailed:
            assert not server.complete


def test_through_the_connection_state_machine_with_reauthentication() -> None:
    """What the client is told, through security/sasl_state.py: Kafka's generic text, worded for
    re-authentication when the password changed between two logins on one connection."""
    from kafkalite.security.sasl_state import SASL_AUTHENTICATION_FAILED, SaslConnection, SaslListenerConfig

    users = store(("alice", make_credential("SCRAM-SHA-256", "one")))
    config = SaslListenerConfig(
        "SASL_PLAINTEXT", {"SCRAM-SHA-256": lambda: ScramServer("SCRAM-SHA-256", lambda u, m: users.get((u, m)))},
        {"SCRAM-SHA-256": 1000},
    )
    conn = SaslConnection(config)

    def login(now: int, password: str) -> dict[str, object]:
        assert conn.handshake("SCRAM-SHA-256", 1, now)["error_code"] == 0
        client = ScramClient("alice", password, "SCRAM-SHA-256")
        first = conn.authenticate(client.first_message(), 2, now)
        client.process_server_first_message(first["auth_bytes"])
        return conn.authenticate(client.final_message(), 2, now)

    done = login(0, "one")
    assert (done["error_code"], done["session_lifetime_ms"], conn.principal) == (0, 1000, "User:alice")
    users[("alice", "SCRAM-SHA-256")] = make_credential("SCRAM-SHA-256", "two")
    failed = login(1500, "one")
    assert (failed["error_code"], failed["error_message"]) == (
        SASL_AUTHENTICATION_FAILED,
        "Authentication failed during re-authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
    )
    fresh = SaslConnection(config)
    conn = fresh
    assert login(0, "one")["error_message"] == GENERIC_256
