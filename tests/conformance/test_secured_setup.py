"""The conformance pieces for secured brokers that need no broker: setups, logins, normalising, known gaps."""

from __future__ import annotations

import socket
import threading

import pytest

from kafkalite.conformance import corpus, runner
from kafkalite.conformance.normalize import Normaliser
from kafkalite.conformance.wire import api_key, build_request


def test_secured_families_share_one_setup_and_name_their_connections() -> None:
    sasl = corpus.load(["sasl"])
    authz = corpus.load(["authz"])
    assert sasl and authz
    setups = {s.setup for s in sasl + authz}
    assert len(setups) == 1, "sasl and authz run against one broker pair"
    [setup] = setups
    assert dict(setup.listeners) == {"SASL_PLAINTEXT": "SASL_PLAINTEXT"}
    assert setup.scram and dict(setup.overrides)["super.users"] == "User:ANONYMOUS;User:admin"
    alice = authz[0].connections["alice"]
    assert alice["listener"] == "SASL_PLAINTEXT" and alice["login"]["mechanism"] == "PLAIN"
    # The scram family runs on the acls family's broker (no listener, no SCRAM users needed).
    assert {s.setup for s in corpus.load(["scram"])} <= {s.setup for s in corpus.load(["acls"])}
    assert not any(s.setup for s in corpus.load(["quotas"]))


def test_kafkalite_arguments_of_a_setup() -> None:
    setup = corpus.BrokerSetup((("super.users", "User:admin"),), (("SASL_PLAINTEXT", "SASL_PLAINTEXT"),),
                               ("SCRAM-SHA-256=[name=carol,password=x]",))
    assert setup.kafkalite_args({"SASL_PLAINTEXT": 9999}) == [
        "--override", "super.users=User:admin",
        "--override", "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:9999",
        "--add-scram", "SCRAM-SHA-256=[name=carol,password=x]",
    ]
    custom = corpus.BrokerSetup(listeners=(("CLIENT", "SASL_SSL"),))
    args = custom.kafkalite_args({"CLIENT": 1})
    assert "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CLIENT:SASL_SSL" in args
    assert not corpus.BrokerSetup() and custom


def test_exact_fields_and_mechanism_order() -> None:
    normalise = Normaliser({"topic": "t-1"})
    answer = {"error_code": 58, "error_message": "Authentication failed: Invalid username or password"}
    assert normalise(answer)["error_message"] == "<message>"
    normalise.exact = frozenset({"error_message"})
    assert normalise(answer)["error_message"] == "Authentication failed: Invalid username or password"
    assert normalise({"mechanisms": ["SCRAM-SHA-512", "PLAIN"]}) == {"mechanisms": ["PLAIN", "SCRAM-SHA-512"]}


def test_sasl_requests_build_whatever_the_broker_catalogue_holds() -> None:
    assert api_key("SaslHandshake") == 17 and api_key("SaslAuthenticate") == 36
    request = build_request("SaslAuthenticate", 2, {"auth_bytes": {"$hex": "00610062"}})
    assert request.auth_bytes == b"\x00a\x00b"


def test_a_listed_unsupported_api_is_a_known_difference() -> None:
    scenario = corpus.Scenario("quotas", "x", "", [{"api": "DescribeClientQuotas", "version": 1, "body": {}}])
    known = [runner.Divergence("quotas/*", "unsupported", "not landed yet")]
    with _broker_without_apis() as bootstrap:
        [outcome] = runner.check([scenario], bootstrap, known, {"quotas/x": [{"step": 0, "response": {}}]})
        assert outcome.status == "differs" and outcome.differences and not outcome.unexplained
        [outcome] = runner.check([scenario], bootstrap, [], {"quotas/x": [{"step": 0, "response": {}}]})
        assert outcome.status == "unsupported"


def test_a_connection_naming_an_unknown_listener_fails_clearly() -> None:
    scenario = corpus.Scenario("sasl", "x", "", [{"api": "Metadata", "version": 12, "conn": "s", "body": {}}],
                               connections={"s": {"listener": "SASL_PLAINTEXT"}})
    with pytest.raises(ValueError, match="no address for listener SASL_PLAINTEXT"):
        runner.run(scenario, "127.0.0.1:1")


class _broker_without_apis:
    """A socket that answers ApiVersions v0 with an empty list: a broker serving none of the APIs."""

    def __enter__(self) -> str:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return f"127.0.0.1:{self.server.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                size = int.from_bytes(conn.recv(4), "big")
                request = conn.recv(size)
                correlation = request[4:8]
                body = correlation + (0).to_bytes(2, "big") + (0).to_bytes(4, "big")  # error 0, no api keys
                conn.sendall(len(body).to_bytes(4, "big") + body)

    def __exit__(self, *exc: object) -> None:
        self.server.close()
