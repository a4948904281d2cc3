"""Prove that an entry is in the ledger, trusting nothing but the operator's key.

    python verify_inclusion.py --server http://127.0.0.1:50051 \\
        --checkpoint-key 'carbon.zj.example/ledger+1a2b3c4d+AZ...' \\
        --key me.key --actor HZ-STEEL --nonce 17        # or --seq N

The checkpoint key is the operator's verifier key, as ``carbon serve``
prints it ("checkpoint key ...") and ``carbon audit checkpoint`` shows it.

1. The latest checkpoint is a signed note: its ed25519 signature is checked
   against that key, and only then its tree size and root are believed.
2. The entry (found by the account's nonce through ``LookupCommand``, or
   given by ``--seq``) comes with its RFC 6962 audit path in that tree: the
   leaf hash ``SHA-256(0x00 || entry)`` is hashed up the path and must give
   the signed root.
3. Entry 0 is the genesis, whose leaf hash is the ledger id every command
   signature is bound to: it is proved the same way.

An account reads the proofs of its own entries (and of entry 0); regulators,
the operator and auditors of any (docs/ACCESS.md). Exit 0 when everything
checks out, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys

from carbon_ledger import Ledger, pb, proofs


def check(ledger: Ledger, seq: int, checkpoint: proofs.SignedCheckpoint) -> bytes:
    """The entry's bytes, once its path leads to the signed root; else ``ProofError``."""
    proof = ledger.inclusion_proof(seq, checkpoint.tree_size)
    leaf = proofs.leaf_hash(proof.entry)
    if proof.tree_size != checkpoint.tree_size or not proofs.verify_inclusion(
        leaf, seq, checkpoint.tree_size, proof.path, checkpoint.root_hash
    ):
        raise proofs.ProofError(f"entry {seq}'s path does not lead to the signed root")
    return proof.entry


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server", default="http://127.0.0.1:50051")
    p.add_argument("--checkpoint-key", required=True, help="the operator's verifier key: name+id+base64")
    p.add_argument("--key", required=True, help="the reader's key file")
    p.add_argument("--actor", required=True, help="the reader's account")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--seq", type=int, help="the journal entry")
    which.add_argument("--nonce", type=int, help="the reader's own command with this nonce")
    a = p.parse_args()

    try:
        key = proofs.parse_verifier_key(a.checkpoint_key)
        with Ledger(a.server, a.key, a.actor) as ledger:
            checkpoint = proofs.open_checkpoint(ledger.checkpoint().text, key)
            print(
                f"checkpoint of {checkpoint.origin}: {checkpoint.tree_size} entries, "
                f"root {checkpoint.root_hash.hex()} (signature verified)"
            )
            seq = a.seq
            if seq is None:
                found = ledger.lookup_command(a.nonce)
                if found is None:
                    raise proofs.ProofError(f"{a.actor} has no journalled command with nonce {a.nonce}")
                seq = found.seq
            if seq >= checkpoint.tree_size:
                raise proofs.ProofError(
                    f"entry {seq} is past the signed checkpoint ({checkpoint.tree_size}); retry later"
                )
            entry = pb.JournalEntry.FromString(check(ledger, seq, checkpoint))
            what = entry.WhichOneof("input")
            if what == "command":
                c = pb.Command.FromString(entry.command.payload)
                what = f"{c.WhichOneof('body')} by {c.actor}, nonce {c.nonce}, ok={entry.outcome.ok}"
            print(f"entry {seq} ({what}) is in the ledger: its path leads to the signed root")
            genesis = check(ledger, 0, checkpoint)
            if proofs.leaf_hash(genesis) != ledger.ledger_id:
                raise proofs.ProofError("the server's ledger id is not the leaf hash of its genesis")
            print(f"ledger id {ledger.ledger_id.hex()} is the genesis entry's leaf hash")
    except proofs.ProofError as e:
        print(f"NOT PROVED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
