"""Ed25519 key pairs and key files in the format of ``carbon keygen``.

A key file is JSON, ``{"secret_key": "<64 hex>", "public_key": "<64 hex>"}``,
mode 0600: the secret key is the 32-byte RFC 8032 seed; the public key, when
present, must belong to it (docs/SIGNING.md, "Keys"). As ``carbon submit``
does, a key file that its group or others may read is used with a warning.

Test keys (docs/REPLAY.md) are public, for examples and tests only: the seed
of account ``id`` is ``SHA-256("carbon-ledger test key:" + id)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_RAW = serialization.Encoding.Raw
_TEST_KEY_PREFIX = b"carbon-ledger test key:"


class KeyFileError(ValueError):
    """A key file that cannot be read as one of ``carbon keygen``'s."""


class ExposedKeyWarning(UserWarning):
    """A key file that others than its owner may read (``chmod 600`` it)."""


@dataclass(frozen=True)
class Key:
    """An account's ed25519 key pair: ``seed`` is the 32-byte secret key."""

    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise ValueError(f"an ed25519 secret key is 32 bytes, not {len(self.seed)}")

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key, as ``create_account`` takes it."""
        return self._private.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        """Pure Ed25519 (RFC 8032 5.1): a deterministic 64-byte signature."""
        return self._private.sign(message)

    @classmethod
    def generate(cls) -> Key:
        """A fresh key pair from the operating system's randomness."""
        return cls(os.urandom(32))

    @classmethod
    def test_key(cls, account: str) -> Key:
        """The public test key of ``account`` (docs/REPLAY.md): never for real money."""
        return cls(hashlib.sha256(_TEST_KEY_PREFIX + account.encode()).digest())

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Key:
        """Reads a key file of ``carbon keygen``; warns when others may read it."""
        path = Path(path)
        try:
            with open(path, "rb") as f:
                mode = os.fstat(f.fileno()).st_mode
                text = f.read()
        except OSError as e:
            raise KeyFileError(f"reading key file {path}: {e}") from e
        if os.name == "posix" and mode & 0o077:
            warnings.warn(
                f"key file {path} may be read by others than its owner (mode {stat.S_IMODE(mode):o}); chmod 600 it",
                ExposedKeyWarning,
                stacklevel=2,
            )
        return cls.from_json(text, str(path))

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "key file") -> Key:
        """Parses the JSON of a key file."""
        try:
            data = json.loads(text)
        except ValueError as e:
            raise KeyFileError(f"{where} is not a key file: {e}") from e
        if not isinstance(data, dict) or not isinstance(data.get("secret_key"), str):
            raise KeyFileError(f"{where} is not a key file: no secret_key")
        key = cls(_hex32(data["secret_key"], where, "secret_key"))
        public = data.get("public_key")
        if public is not None:
            if not isinstance(public, str) or _hex32(public, where, "public_key") != key.public_key:
                raise KeyFileError(f"{where}: public_key does not belong to secret_key")
        return key

    def to_json(self) -> str:
        """The key file text, as ``carbon keygen`` writes it."""
        body = {"secret_key": self.seed.hex(), "public_key": self.public_key.hex()}
        return json.dumps(body, indent=2) + "\n"

    def write(self, path: str | os.PathLike[str]) -> None:
        """Writes a new key file (mode 0600); never overwrites one."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.to_json())
            f.flush()
            os.fsync(f.fileno())


def _hex32(text: str, where: str, name: str) -> bytes:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raw = b""
    if len(raw) != 32 or len(text) != 64:
        raise KeyFileError(f"{where}: {name} is not 64 hex digits")
    return raw


def public_key_from_bytes(raw: bytes) -> Ed25519PublicKey:
    """An ed25519 public key from its 32 bytes (for verifying)."""
    return Ed25519PublicKey.from_public_bytes(raw)
