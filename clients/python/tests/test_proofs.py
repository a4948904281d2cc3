"""RFC 6962 proofs and signed checkpoints, against published vectors and a
reference tree built here from the RFC's definitions."""

from __future__ import annotations

import base64
import hashlib

import pytest

from carbon_ledger import Key, proofs
from carbon_ledger.proofs import leaf_hash, node_hash

# Certificate Transparency's test leaves and the roots of their first 1..8.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 2.1: the Merkle tree hash."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 2.1.1: the audit path of leaf ``m``."""
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    """RFC 6962 2.1.2: SUBPROOF."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def test_roots_are_the_published_ones() -> None:
    assert [mth(CT_LEAVES[:n]).hex() for n in range(1, 9)] == CT_ROOTS


def test_every_inclusion_path_verifies_and_a_wrong_one_does_not() -> None:
    leaves = [bytes([i]) * (i % 5) for i in range(21)]
    for size in range(1, len(leaves) + 1):
        root = mth(leaves[:size])
        for m in range(size):
            p = path(m, leaves[:size])
            assert proofs.verify_inclusion(leaf_hash(leaves[m]), m, size, p, root), (m, size)
            assert not proofs.verify_inclusion(leaf_hash(leaves[m] + b"x"), m, size, p, root)
            if m ^ 1 < size:  # the leaf on the wrong side of its sibling
                assert not proofs.verify_inclusion(leaf_hash(leaves[m]), m ^ 1, size, p, root)
            if size < len(leaves):  # another tree's root
                assert not proofs.verify_inclusion(leaf_hash(leaves[m]), m, size, p, mth(leaves[: size + 1]))
            if p:
                assert not proofs.verify_inclusion(leaf_hash(leaves[m]), m, size, p[:-1], root)
        assert not proofs.verify_inclusion(leaf_hash(leaves[0]), size, size, [], root)


def test_every_consistency_proof_verifies_and_a_forged_root_does_not() -> None:
    leaves = [bytes([i]) for i in range(17)]
    for new in range(1, len(leaves) + 1):
        for old in range(1, new + 1):
            p = subproof(old, leaves[:new], True)
            old_root, new_root = mth(leaves[:old]), mth(leaves[:new])
            assert proofs.verify_consistency(old, new, old_root, new_root, p), (old, new)
            forged = bytes([old_root[0] ^ 1]) + old_root[1:]
            assert not proofs.verify_consistency(old, new, forged, new_root, p)
    assert proofs.verify_consistency(0, 5, hashlib.sha256(b"").digest(), mth(leaves[:5]), [])


def signed_note(origin: str, size: int, root: bytes, key: Key, name: str | None = None) -> str:
    """A checkpoint signed as the server signs it (ledger/src/checkpoint.rs)."""
    body = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    vk = proofs.verifier_key(name or origin, key.public_key)
    blob = vk.key_id + key.sign(body.encode())
    return f"{body}\n\u2014 {vk.name} {base64.b64encode(blob).decode()}\n"


def test_a_checkpoint_opens_with_the_operators_key_only() -> None:
    op = Key.test_key("ZJ-CEEX")
    vk = proofs.verifier_key("carbon.example/ledger", op.public_key)
    assert proofs.parse_verifier_key(str(vk)) == vk
    root = mth(CT_LEAVES)
    note = signed_note("carbon.example/ledger", 8, root, op)
    assert proofs.open_checkpoint(note, vk) == proofs.SignedCheckpoint("carbon.example/ledger", 8, root)
    # A witness's line is skipped; the operator's still counts.
    witness = signed_note("carbon.example/ledger", 8, root, Key.test_key("W"), "witness.example").split("\n\n")[1]
    assert proofs.open_checkpoint(note + witness, vk).tree_size == 8
    with pytest.raises(proofs.ProofError, match="does not verify"):
        proofs.open_checkpoint(note.replace("\n8\n", "\n9\n"), vk)
    with pytest.raises(proofs.ProofError, match="no signature"):
        proofs.open_checkpoint(note, proofs.verifier_key("carbon.example/ledger", Key.test_key("X").public_key))
    with pytest.raises(proofs.ProofError):
        proofs.parse_verifier_key(str(vk).replace("+", "+0", 1))  # the id does not match


def test_the_servers_verifier_key_string_is_ours(server) -> None:  # type: ignore[no-untyped-def]
    from conftest import OPERATOR, ORIGIN

    assert server.checkpoint_key == str(proofs.verifier_key(ORIGIN, Key.test_key(OPERATOR).public_key))
