//! Proofs over gRPC: a regulator keeps the checkpoints it has seen and later
//! proves, with only the operator's public key, that an entry is in the
//! ledger and that history before a kept checkpoint was not rewritten.

mod grpc_support;

use carbon_ledger::checkpoint;
use carbon_ledger::keys::test_key;
use carbon_ledger::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash};
use carbon_proto::v1 as pb;
use grpc_support::*;
use serde_json::json;

/// Inclusion proofs of any entry are a regulator's (docs/ACCESS.md).
const PROOF: &str = "/carbon.v1.Ledger/GetInclusionProof";

fn hashes(v: &[Vec<u8>]) -> Vec<Hash> {
    v.iter()
        .map(|h| h.as_slice().try_into().expect("32-byte hashes"))
        .collect()
}

#[tokio::test]
async fn inclusion_and_consistency_proofs_verify_against_kept_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::with_test_genesis(dir.path());
    let mut client = server.client().await;
    let mut s = Signer::default();
    small_market(&mut client, &mut s).await;
    let ledger = ledger_id(&mut client).await;
    let operator = test_key(OPERATOR).verifying_key();
    let kept = |note: String| checkpoint::open(&note, ORIGIN, &operator).expect("a checkpoint signed by the operator");

    let old = kept(
        client
            .get_checkpoint(pb::GetCheckpointRequest {})
            .await
            .unwrap()
            .into_inner()
            .text,
    );
    for qty in [1, 2, 3] {
        accept(
            &mut client,
            s.sign(
                json!({"as": "HZ-STEEL", "cmd": "transfer", "instrument": "ZJEA-2025", "to": "NB-POWER", "qty": qty}),
            ),
        )
        .await;
    }
    let new = kept(
        client
            .get_checkpoint(pb::GetCheckpointRequest {})
            .await
            .unwrap()
            .into_inner()
            .text,
    );
    assert!(new.tree_size > old.tree_size);

    // Every entry is in the new tree, and the early ones in the old one too.
    for seq in 0..new.tree_size {
        for cp in [&old, &new] {
            if seq >= cp.tree_size {
                continue;
            }
            let request = pb::InclusionProofRequest {
                seq,
                tree_size: cp.tree_size,
            };
            let p = client
                .get_inclusion_proof(signed("ZJ-DEE", &ledger, PROOF, request))
                .await
                .unwrap()
                .into_inner();
            let leaf = leaf_hash(&p.entry);
            assert_eq!(leaf.to_vec(), p.leaf_hash);
            assert!(
                verify_inclusion(&leaf, seq, cp.tree_size, &hashes(&p.path), &cp.root_hash),
                "entry {seq}"
            );
            // A proof for another entry's bytes fails.
            let mut other = p.entry.clone();
            other.push(0);
            assert!(!verify_inclusion(
                &leaf_hash(&other),
                seq,
                cp.tree_size,
                &hashes(&p.path),
                &cp.root_hash
            ));
        }
    }

    let c = client
        .get_consistency_proof(pb::ConsistencyProofRequest {
            from_size: old.tree_size,
            to_size: new.tree_size,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (c.from_root.as_slice(), c.to_root.as_slice()),
        (&old.root_hash[..], &new.root_hash[..])
    );
    assert!(verify_consistency(
        old.tree_size,
        new.tree_size,
        &old.root_hash,
        &new.root_hash,
        &hashes(&c.proof)
    ));
    let mut forged = old.root_hash;
    forged[0] ^= 1;
    assert!(!verify_consistency(
        old.tree_size,
        new.tree_size,
        &forged,
        &new.root_hash,
        &hashes(&c.proof)
    ));

    let request = pb::InclusionProofRequest {
        seq: new.tree_size + 5,
        tree_size: 0,
    };
    let beyond = client
        .get_inclusion_proof(signed("ZJ-DEE", &ledger, PROOF, request))
        .await;
    assert_eq!(beyond.unwrap_err().code(), tonic::Code::OutOfRange);
    let backwards = client
        .get_consistency_proof(pb::ConsistencyProofRequest {
            from_size: new.tree_size,
            to_size: 1,
        })
        .await;
    assert_eq!(backwards.unwrap_err().code(), tonic::Code::OutOfRange);
}
