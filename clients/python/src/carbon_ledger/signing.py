"""The bytes Carbon Ledger signs, exactly as docs/SIGNING.md says.

Commands: the client serializes a ``carbon.v1.Command`` to bytes P and signs
``"carbon-ledger/v2/command\\n" || ledger_id || P`` with pure Ed25519; the
envelope is ``SignedCommand{payload: P, signature}``. The server verifies
the bytes it received and stores them unchanged, so P is never re-encoded.

Read credentials: three gRPC metadata entries, ``carbon-account``,
``carbon-timestamp-ms`` and ``carbon-signature`` (128 lowercase hex digits,
the signature of ``"carbon-ledger/v1/read\\n" || ledger_id || method || "\\n"
|| timestamp_ms || "\\n" || request``), ``request`` being the canonical
protobuf encoding of the request message (what every protobuf library
writes). The server takes each credential once and within 60 s of its clock.

``ledger_id`` is ``Checkpoint.ledger_id`` from the public ``GetCheckpoint``:
the RFC 6962 leaf hash of the ledger's genesis entry.
"""

from __future__ import annotations

import threading
import time

from ._pb import carbon_pb2 as pb
from .keys import Key

COMMAND_PREFIX = b"carbon-ledger/v2/command\n"
READ_PREFIX = b"carbon-ledger/v1/read\n"
ACCOUNT_KEY = "carbon-account"
TIMESTAMP_KEY = "carbon-timestamp-ms"
SIGNATURE_KEY = "carbon-signature"

Metadata = list[tuple[str, str]]


def _ledger(ledger_id: bytes) -> bytes:
    if len(ledger_id) != 32:
        raise ValueError(f"a ledger id is 32 bytes, not {len(ledger_id)}")
    return ledger_id


def command_message(ledger_id: bytes, payload: bytes) -> bytes:
    """The signed message of a command whose serialized ``Command`` is ``payload``."""
    return COMMAND_PREFIX + _ledger(ledger_id) + payload


def sign_payload(key: Key, ledger_id: bytes, payload: bytes) -> pb.SignedCommand:
    """The envelope of an already serialized ``Command``."""
    return pb.SignedCommand(payload=payload, signature=key.sign(command_message(ledger_id, payload)))


def sign_command(key: Key, ledger_id: bytes, command: pb.Command) -> pb.SignedCommand:
    """Serializes ``command`` once and signs those bytes (docs/SIGNING.md, steps 2 to 4)."""
    return sign_payload(key, ledger_id, command.SerializeToString())


def read_message(ledger_id: bytes, method: str, timestamp_ms: int, request: bytes) -> bytes:
    """The signed message of a read credential for ``method`` (``/carbon.v1.Service/Method``)."""
    if not method.startswith("/"):
        raise ValueError(f"a method is its full gRPC name, /package.Service/Method, not {method!r}")
    return READ_PREFIX + _ledger(ledger_id) + method.encode() + b"\n" + str(timestamp_ms).encode() + b"\n" + request


def read_credential(
    key: Key, account: str, ledger_id: bytes, method: str, timestamp_ms: int, request: bytes
) -> Metadata:
    """The three metadata entries of a read credential."""
    signature = key.sign(read_message(ledger_id, method, timestamp_ms, request))
    return [(ACCOUNT_KEY, account), (TIMESTAMP_KEY, str(timestamp_ms)), (SIGNATURE_KEY, signature.hex())]


class Credentials:
    """Signs read credentials for one account on one ledger.

    The server takes each credential once, and Ed25519 is deterministic, so
    two identical reads in one millisecond would carry the same signature:
    timestamps handed out here only move forward, a millisecond at least.
    """

    def __init__(self, key: Key, account: str, ledger_id: bytes) -> None:
        self.key = key
        self.account = account
        self.ledger_id = _ledger(ledger_id)
        self._last_ms = 0
        self._lock = threading.Lock()

    def _timestamp_ms(self) -> int:
        with self._lock:
            self._last_ms = max(time.time_ns() // 1_000_000, self._last_ms + 1)
            return self._last_ms

    def metadata(self, method: str, request: bytes) -> Metadata:
        """A fresh credential for ``method`` with the serialized ``request``."""
        return read_credential(self.key, self.account, self.ledger_id, method, self._timestamp_ms(), request)
