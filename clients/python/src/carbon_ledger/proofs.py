"""Checking the ledger with nothing but the operator's key.

* :func:`open_checkpoint` verifies a checkpoint, a C2SP signed note
  (``<origin>\\n<size>\\n<base64 root>\\n\\n— <key name> <base64(key id || sig)>\\n``),
  against the operator's verifier key and returns what it commits to;
* :func:`verify_inclusion` and :func:`verify_consistency` check RFC 6962
  proofs (the algorithms of RFC 9162 2.1.3.2 and 2.1.4.2) against it;
* :func:`leaf_hash` is ``SHA-256(0x00 || entry)``: the hash of a journal
  entry's bytes, and of the genesis entry the ledger id.

The verifier key is the string ``carbon serve`` prints as "checkpoint key"
(and ``carbon audit checkpoint`` shows):
``<name>+<8 hex key id>+<base64(0x01 || 32-byte public key)>``, the key
name being the ledger's origin; :func:`verifier_key` builds it from a
public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

_ALG_ED25519 = 0x01
_SIG_PREFIX = "\u2014 "


class ProofError(ValueError):
    """A checkpoint, key or proof that does not check out."""


@dataclass(frozen=True)
class VerifierKey:
    """The operator's checkpoint key: its name (the origin) and public key."""

    name: str
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        """``SHA-256(name || "\\n" || 0x01 || public key)[:4]``."""
        return hashlib.sha256(self.name.encode() + b"\n" + bytes([_ALG_ED25519]) + self.public_key).digest()[:4]

    def __str__(self) -> str:
        blob = base64.b64encode(bytes([_ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"


@dataclass(frozen=True)
class SignedCheckpoint:
    """A verified checkpoint: the operator signed this tree head."""

    origin: str
    tree_size: int
    root_hash: bytes


def verifier_key(name: str, public_key: bytes) -> VerifierKey:
    """The verifier key of ``public_key`` under ``name`` (the ledger's origin)."""
    if len(public_key) != 32:
        raise ProofError("an ed25519 public key is 32 bytes")
    return VerifierKey(name, public_key)


def parse_verifier_key(text: str) -> VerifierKey:
    """Parses ``name+keyid+base64key`` and checks that the id belongs to the key."""
    parts = text.strip().split("+", 2)  # base64 may hold "+" too
    if len(parts) != 3 or not parts[0]:
        raise ProofError("a verifier key is name+keyid+base64key")
    name, id_hex, blob_b64 = parts
    try:
        blob = base64.b64decode(blob_b64, validate=True)
        claimed = bytes.fromhex(id_hex)
    except (binascii.Error, ValueError) as e:
        raise ProofError(f"the verifier key does not decode: {e}") from e
    if len(blob) != 33 or blob[0] != _ALG_ED25519:
        raise ProofError("the verifier key is not an Ed25519 key")
    key = VerifierKey(name, blob[1:])
    if len(claimed) != 4 or claimed != key.key_id:
        raise ProofError("the verifier key's id does not match its key")
    return key


def open_checkpoint(note: str, key: VerifierKey) -> SignedCheckpoint:
    """Verifies the signed note ``note`` with ``key`` and parses its body.

    Signature lines of other keys (witnesses) are skipped; one line of
    ``key`` that does not verify fails the note.
    """
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise ProofError("not a signed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 : -1]
    verified = False
    for line in block.split("\n"):
        if not line.startswith(_SIG_PREFIX):
            raise ProofError("a signature line does not start with an em dash")
        name, _, blob_b64 = line[len(_SIG_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(blob_b64, validate=True)
        except binascii.Error as e:
            raise ProofError("a signature is not base64") from e
        if name != key.name or blob[:4] != key.key_id:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.public_key).verify(blob[4:], text.encode())
        except InvalidSignature as e:
            raise ProofError("the checkpoint's signature does not verify") from e
        verified = True
    if not verified:
        raise ProofError(f"the checkpoint carries no signature of {key.name}")
    lines = text[:-1].split("\n")
    if len(lines) != 3 or not lines[1].isdigit() or (len(lines[1]) > 1 and lines[1][0] == "0"):
        raise ProofError("the checkpoint body is not origin, size, root")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error as e:
        raise ProofError("the checkpoint's root is not base64") from e
    if len(root) != 32:
        raise ProofError("the checkpoint's root is not 32 bytes")
    if lines[0] != key.name:
        raise ProofError(f"the checkpoint is of {lines[0]!r}, not {key.name!r}")
    return SignedCheckpoint(lines[0], int(lines[1]), root)


def leaf_hash(entry: bytes) -> bytes:
    """RFC 6962 leaf hash: ``SHA-256(0x00 || entry)``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """True when ``leaf`` is leaf ``index`` of the tree of ``size`` leaves with ``root`` (RFC 9162 2.1.3.2)."""
    if index < 0 or index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """True when the tree of ``new_size`` leaves extends the tree of ``old_size`` (RFC 9162 2.1.4.2)."""
    if old_size < 0 or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == hashlib.sha256(b"").digest()
    rest = list(proof)
    if old_size & (old_size - 1) == 0:
        first = old_root
    elif rest:
        first = rest.pop(0)
    else:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = first
    for c in rest:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
