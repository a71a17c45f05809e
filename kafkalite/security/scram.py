"""SCRAM-SHA-256 / SCRAM-SHA-512, server side, as Apache Kafka's ScramSaslServer does it (RFC 5802, RFC 7677).

Owns the message grammar (Kafka's ScramMessages patterns, ASCII-only names as Kafka's are), the
SaslName escaping of user names (``=2C`` for ``,``, ``=3D`` for ``=``, as ScramFormatter), the
credential derivation (salted password = PBKDF2-HMAC, client/stored/server keys) and the two-step
exchange. It never sees broker state: credentials come through a ``CredentialLookup``.

What Kafka does and this follows:
- only the ``n`` GS2 header (no channel binding); an authzid other than the user name is refused
  with its own message, every other failure (unknown user, bad proof, malformed message, a
  delegation-token login, a credential under the minimum iterations) with the generic one, so an
  unauthenticated client cannot learn whether a user exists;
- the channel-binding attribute of the client-final message is not compared with ``biws``: it only
  enters the auth message, so a different value fails the proof;
- the server never answers ``e=...``: a failure is SASL_AUTHENTICATION_FAILED and a closed connection;
- Kafka answers a proof of the wrong length with no answer at all (an uncaught exception closes the
  connection); here it is the generic failure like any other wrong proof.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable

from kafkalite.security.oauthbearer import MechanismError
from kafkalite.security.sasl import CredentialLookup, SaslAuthenticationFailed, ScramCredential

#: Kafka's ScramMechanism: (hashlib name, wire type in the Describe/AlterUserScramCredentials APIs).
MECHANISMS: dict[str, tuple[str, int]] = {"SCRAM-SHA-256": ("sha256", 1), "SCRAM-SHA-512": ("sha512", 2)}
MECHANISM_BY_TYPE: dict[int, str] = {code: name for name, (_h, code) in MECHANISMS.items()}
#: Kafka's bounds for both mechanisms (ScramMechanism minIterations / maxIterations).
MIN_ITERATIONS = 4096
MAX_ITERATIONS = 16384
#: ``kafka-storage format --add-scram`` without ``iterations=``.
DEFAULT_ITERATIONS = 4096
#: Kafka's ScramLoginModule.TOKEN_AUTH_CONFIG extension (delegation tokens: not supported here).
TOKEN_AUTH = "tokenauth"


def invalid_credentials_message(mechanism: str) -> str:
    """What Kafka's SaslServerAuthenticator sends for any SaslException (never the exception's text)."""
    return f"Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"


AUTHZID_MISMATCH = "Authentication failed: Client requested an authorization id that is different from username"


# ---- credentials -------------------------------------------------------------------------------------------


def _hash_name(mechanism: str) -> str:
    try:
        return MECHANISMS[mechanism][0]
    except KeyError:
        raise ValueError(f"not a SCRAM mechanism: {mechanism}") from None


def salted_password(mechanism: str, password: str, salt: bytes, iterations: int) -> bytes:
    """Hi(Normalize(password), salt, i) of RFC 5802: PBKDF2-HMAC with the mechanism's hash.

    Kafka's ScramFormatter.normalize is plain UTF-8 (no SASLprep), so this is too.
    """
    return hashlib.pbkdf2_hmac(_hash_name(mechanism), password.encode("utf-8"), salt, iterations)


def _hmac(mechanism: str, key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, _hash_name(mechanism)).digest()


def _hash(mechanism: str, data: bytes) -> bytes:
    return hashlib.new(_hash_name(mechanism), data).digest()


def credential_from_salted(mechanism: str, salt: bytes, salted: bytes, iterations: int) -> ScramCredential:
    """What Kafka keeps (AlterUserScramCredentials sends the salted password, never the password)."""
    client_key = _hmac(mechanism, salted, b"Client Key")
    return ScramCredential(
        mechanism=mechanism,
        salt=salt,
        iterations=iterations,
        stored_key=_hash(mechanism, client_key),
        server_key=_hmac(mechanism, salted, b"Server Key"),
    )


def random_salt() -> bytes:
    """Kafka's ScramFormatter.secureRandomBytes: the UTF-8 of a random 130-bit number in base 36."""
    return random_string().encode("ascii")


def random_string() -> str:
    """Kafka's ScramFormatter.secureRandomString (the server nonce too)."""
    n = secrets.randbits(130)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def make_credential(mechanism: str, password: str, iterations: int = DEFAULT_ITERATIONS,
                    salt: bytes | None = None) -> ScramCredential:
    salt = random_salt() if salt is None else salt
    return credential_from_salted(mechanism, salt, salted_password(mechanism, password, salt, iterations), iterations)


# ---- names -------------------------------------------------------------------------------------------------


def sasl_name(username: str) -> str:
    """A user name as it appears in ``n=`` (ScramFormatter.saslName)."""
    return username.replace("=", "=3D").replace(",", "=2C")


def username(saslname: str) -> str:
    """The user name from ``n=`` (ScramFormatter.username); ValueError for a stray ``=``."""
    name = saslname.replace("=2C", ",")
    if "=" in name.replace("=3D", ""):
        raise ValueError(f"Invalid username: {saslname}")
    return name.replace("=3D", "=")


# ---- messages (Kafka's ScramMessages patterns) ---------------------------------------------------------------

_ALPHA = "[A-Za-z]+"
_VALUE = r"[\x01-\x2b\x2d-\x7f]+"  # \x01-\x7F but ','
_PRINTABLE = r"[\x21-\x2b\x2d-\x7e]+"  # \x21-\x7E but ','
_SASLNAME = r"(?:[\x01-\x2b\x2d-\x3c\x3e-\x7f]|=2C|=3D)+"  # \x01-\x7F but '=' ',' | =2C | =3D
_B64 = "[a-zA-Z0-9/+]"
_BASE64 = f"(?:{_B64}{{4}})*(?:{_B64}{{3}}=|{_B64}{{2}}==)?"
_RESERVED = f"(?:m={_VALUE},)?"
_EXTENSIONS = f"(?:,{_ALPHA}={_VALUE})*"

_CLIENT_FIRST = re.compile(
    f"n,(?:a=(?P<authzid>{_SASLNAME}))?,{_RESERVED}n=(?P<saslname>{_SASLNAME}),r=(?P<nonce>{_PRINTABLE})"
    f"(?P<extensions>{_EXTENSIONS})"
)
_CLIENT_FINAL = re.compile(
    f"c=(?P<channel>{_BASE64}),r=(?P<nonce>{_PRINTABLE}){_EXTENSIONS},p=(?P<proof>{_BASE64})"
)


class _Invalid(Exception):
    """A SaslException in Kafka: the client only sees the generic message."""


def _extensions(text: str) -> dict[str, str]:
    """Kafka's ScramExtensions (Utils.parseMap with ``=`` and ``,``)."""
    out: dict[str, str] = {}
    for part in text.lstrip(",").split(","):
        if part:
            key, _, value = part.partition("=")
            out[key] = value
    return out


class ScramServer:
    """One SCRAM login: client-first -> server-first, client-final -> server-final."""

    def __init__(self, mechanism: str, lookup: CredentialLookup,
                 nonce: Callable[[], str] = random_string) -> None:
        if mechanism not in MECHANISMS:
            raise ValueError(f"not a SCRAM mechanism: {mechanism}")
        self.mechanism = mechanism
        self._lookup = lookup
        self._nonce = nonce
        self._state = "RECEIVE_CLIENT_FIRST_MESSAGE"
        self._user = ""
        self._credential: ScramCredential | None = None
        self._client_first_bare = ""
        self._server_first = ""
        self._combined_nonce = ""

    @property
    def complete(self) -> bool:
        return self._state == "COMPLETE"

    @property
    def principal(self) -> str:
        if not self.complete:
            raise RuntimeError("Authentication exchange has not completed")
        return f"User:{self._user}"

    @property
    def lifetime_ms(self) -> int | None:
        return None  # SCRAM credentials do not expire (delegation tokens would)

    def evaluate(self, token: bytes) -> bytes:
        try:
            if self._state == "RECEIVE_CLIENT_FIRST_MESSAGE":
                return self._client_first(token)
            if self._state == "RECEIVE_CLIENT_FINAL_MESSAGE":
                return self._client_final(token)
            raise SaslAuthenticationFailed(f"Unexpected challenge in Sasl server state {self._state}")
        except _Invalid as exc:
            # Java's SaslException: the connection (security/sasl_state.py) tells the client only
            # invalid_credentials_message, worded for authentication or re-authentication, and logs why.
            self._fail()
            raise MechanismError(str(exc)) from None
        except SaslAuthenticationFailed:
            self._fail()
            raise

    def _fail(self) -> None:
        self._credential = None
        self._state = "FAILED"

    def _client_first(self, token: bytes) -> bytes:
        try:
            message = token.decode("utf-8")
        except UnicodeDecodeError:
            raise _Invalid("Invalid SCRAM client first message format") from None
        match = _CLIENT_FIRST.fullmatch(message)
        if match is None:
            raise _Invalid("Invalid SCRAM client first message format")
        extensions = _extensions(match["extensions"])
        if extensions.get(TOKEN_AUTH, "").lower() == "true":
            raise _Invalid("Token Authentication failed")  # no delegation tokens here
        try:
            user = username(match["saslname"])
        except ValueError:
            raise _Invalid("Authentication failed: Credentials could not be obtained") from None
        credential = self._lookup(user, self.mechanism)
        if credential is None:
            raise _Invalid("Authentication failed: Invalid user credentials")
        authzid = match["authzid"] or ""
        if authzid and authzid != user:
            raise SaslAuthenticationFailed(AUTHZID_MISMATCH)
        if credential.iterations < MIN_ITERATIONS:
            raise _Invalid(f"Iterations {credential.iterations} is less than the minimum {MIN_ITERATIONS}")
        self._user = user
        self._credential = credential
        # Kafka rebuilds client-first-message-bare from its parts (the extensions it parsed included).
        bare = f"n={match['saslname']},r={match['nonce']}"
        if extensions:
            bare += "," + ",".join(f"{k}={v}" for k, v in extensions.items())
        self._client_first_bare = bare
        self._combined_nonce = match["nonce"] + self._nonce()
        salt = base64.b64encode(credential.salt).decode("ascii")
        self._server_first = f"r={self._combined_nonce},s={salt},i={credential.iterations}"
        self._state = "RECEIVE_CLIENT_FINAL_MESSAGE"
        return self._server_first.encode("ascii")

    def _client_final(self, token: bytes) -> bytes:
        credential = self._credential
        assert credential is not None
        try:
            match = _CLIENT_FINAL.fullmatch(token.decode("utf-8"))
        except UnicodeDecodeError:
            match = None
        if match is None:
            raise _Invalid("Invalid SCRAM client final message format")
        if not match["nonce"].endswith(self._combined_nonce):
            raise _Invalid("Invalid client nonce in the final client message.")
        try:
            channel = base64.b64decode(match["channel"], validate=True)
            proof = base64.b64decode(match["proof"], validate=True)
        except binascii.Error:
            raise _Invalid("Invalid SCRAM client final message format") from None
        without_proof = f"c={base64.b64encode(channel).decode('ascii')},r={match['nonce']}"
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        signature = _hmac(self.mechanism, credential.stored_key, auth_message)
        if len(proof) != len(signature):
            raise _Invalid("Invalid client credentials")
        client_key = bytes(a ^ b for a, b in zip(signature, proof, strict=True))
        if not hmac.compare_digest(_hash(self.mechanism, client_key), credential.stored_key):
            raise _Invalid("Invalid client credentials")
        server_signature = _hmac(self.mechanism, credential.server_key, auth_message)
        self._credential = None
        self._state = "COMPLETE"
        return b"v=" + base64.b64encode(server_signature)
