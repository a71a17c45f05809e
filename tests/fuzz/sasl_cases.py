"""SaslHandshake / SaslAuthenticate frames for fuzzing a SASL listener, deterministic for a seed.

Each connection gets a short script: an optional ApiVersions, a SaslHandshake (v0 or v1, a real
mechanism or a made-up one), then SaslAuthenticate requests (v0-v2) or, after a v0 handshake, bare
tokens, with tokens that are valid, nearly valid or garbage for PLAIN, SCRAM and OAUTHBEARER. One
frame of the script may then be mutated (truncated, extended, bytes flipped, a length overwritten,
the frame size lying, oversized). Frames are built by hand here: the point is bytes a codec would
never produce.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
USER, PASSWORD = "alice", "alice-secret"
#: Kafka's sasl.server.max.receive.size default: frames larger than this before authentication close.
MAX_RECEIVE = 524288


@dataclass
class Step:
    kind: str  # what was sent, for statistics
    data: bytes  # size prefix included


def _header(key: int, version: int, correlation: int, flexible: bool) -> bytes:
    client = b"fuzz-sasl"
    return struct.pack(">hhih", key, version, correlation, len(client)) + client + (b"\x00" if flexible else b"")


def _frame(body: bytes) -> bytes:
    return struct.pack(">i", len(body)) + body


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def api_versions(correlation: int) -> bytes:
    return _frame(_header(18, 0, correlation, False))


def handshake(version: int, mechanism: bytes, correlation: int) -> bytes:
    return _frame(_header(17, version, correlation, False) + struct.pack(">h", len(mechanism)) + mechanism)


def authenticate(version: int, token: bytes, correlation: int) -> bytes:
    if version >= 2:
        body = _header(36, version, correlation, True) + _uvarint(len(token) + 1) + token + b"\x00"
    else:
        body = _header(36, version, correlation, False) + struct.pack(">i", len(token)) + token
    return _frame(body)


def bare_token(token: bytes) -> bytes:
    return _frame(token)


class SaslFuzzer:
    """Scripts of SASL frames for one connection each."""

    MUTATIONS = ("none", "none", "truncate", "extend", "flip", "length", "size-lie", "oversize")

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pending_final = False  # a SCRAM client-first was sent: the next token is its client-final

    def token(self, mechanism: str) -> tuple[str, bytes]:
        rng = self.rng
        choice = rng.randrange(12)
        if choice == 0:
            return "random", rng.randbytes(rng.randrange(0, 300))
        if choice == 1:
            return "empty", b""
        if choice == 2:
            return "huge", b"\x00" + b"u" * rng.randrange(60000, 200000) + b"\x00p"
        if choice == 3:
            return "invalid-utf8", b"\x00\xff\xfe\x00\xc3"
        if mechanism == "PLAIN" or choice < 6:
            parts = [rng.choice([b"", b"alice", b"other"]), USER.encode(), PASSWORD.encode()]
            if choice == 4:
                parts = parts[: rng.randrange(0, 3)]
            elif choice == 5:
                parts.append(b"extra")
            elif choice == 6:
                parts[2] = b"wrong"
            return "plain", b"\x00".join(parts)
        if mechanism.startswith("SCRAM") and choice in (7, 8):
            # a real user's client-first, so the exchange reaches its second step with the token below
            self.pending_final = True
            return "scram-first", b"n,,n=alice,r=fuzz-nonce"
        if mechanism.startswith("SCRAM"):
            variants = [b"n,,n=alice,r=abc", b"n,,n=,r=", b"p=tls-unique,,n=alice,r=x", b"y,,n=alice,r=" + b"r" * 500,
                        b"n,a=bob,n=alice,r=abc", b"n,,n=al=2Cice,r=abc", b"c=biws,r=abc,p=xyz", b"n,,", b","]
            return "scram", rng.choice(variants)
        variants = [b"n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.e30.\x01\x01", b"n,,\x01\x01", b"\x01auth=Bearer\x01\x01",
                    b"n,,\x01auth=Bearer a.b.c\x01\x01", b"n,a=alice,\x01auth=Bearer ..\x01\x01", b"n,,\x01auth=x"]
        return "oauth", rng.choice(variants)

    def script(self) -> list[Step]:
        rng = self.rng
        steps: list[Step] = []
        correlation = 1
        if rng.random() < 0.3:
            steps.append(Step("api-versions", api_versions(correlation)))
            correlation += 1
        mechanism = rng.choice(MECHANISMS) if rng.random() < 0.85 else rng.choice(["NOPE", "", "plain", "X" * 300])
        version = rng.choice((0, 1, 1))
        if rng.random() < 0.9:
            steps.append(Step(f"handshake-v{version}", handshake(version, mechanism.encode(), correlation)))
            correlation += 1
        else:
            version = 1  # SaslAuthenticate without a handshake
        self.pending_final = False
        for _ in range(rng.choice((1, 1, 2, 3))):
            if self.pending_final:  # the client-final: the server nonce is unknown here, the proof made up
                self.pending_final = False
                kind, token = "scram-final", rng.choice([
                    b"c=biws,r=fuzz-nonce,p=" + rng.randbytes(32).hex().encode(), b"c=biws,r=fuzz-nonce", b"",
                    b"c=eSws,r=fuzz-nonceXYZ,p=AAAA", b"c=biws,r=fuzz-nonce,p=!!notbase64", rng.randbytes(80),
                ])
            else:
                kind, token = self.token(mechanism)
            if version == 0:
                steps.append(Step(f"bare-{kind}", bare_token(token)))
            else:
                av = rng.randrange(0, 3)
                steps.append(Step(f"authenticate-v{av}-{kind}", authenticate(av, token, correlation)))
                correlation += 1
        if rng.random() < 0.15:
            steps.append(Step("handshake-again", handshake(1, b"PLAIN", correlation)))
        mutation = rng.choice(self.MUTATIONS)
        if mutation != "none":
            index = rng.randrange(len(steps))
            steps[index] = Step(f"{steps[index].kind}+{mutation}", self.mutate(steps[index].data, mutation))
        return steps

    def mutate(self, data: bytes, mutation: str) -> bytes:
        rng = self.rng
        body = bytearray(data[4:])
        if mutation == "truncate" and body:
            body = body[: rng.randrange(len(body))]
        elif mutation == "extend":
            body += rng.randbytes(rng.randrange(1, 64))
        elif mutation == "flip" and body:
            for _ in range(rng.randrange(1, 4)):
                body[rng.randrange(len(body))] = rng.randrange(256)
        elif mutation == "length" and len(body) > 16:
            where = rng.randrange(8, len(body) - 3)
            body[where:where + 4] = struct.pack(">i", rng.choice([-2, -1, 0x7FFFFFFF, 65535, len(body) * 3]))
        elif mutation == "size-lie":  # the frame says more than it carries: the broker waits, then the client leaves
            return struct.pack(">i", len(body) + rng.randrange(1, 100)) + bytes(body)
        elif mutation == "oversize":
            return struct.pack(">i", MAX_RECEIVE + rng.randrange(1, 10**6)) + bytes(body)
        return _frame(bytes(body))
