//! The wire contract of Carbon Ledger.
//!
//! `carbon.proto` defines the signed command envelope, every command of
//! RULEBOOK.md, the journal entry the ledger stores, and the gRPC service.
//! The messages are always built; the service stubs only with feature `grpc`.

#![allow(clippy::all, missing_docs)]

/// Version 1 of the contract (`package carbon.v1`).
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/carbon.v1.rs"));
}

/// The members' own service (`package carbon.cluster.v1`): Raft between
/// the members of a replicated ledger, and its membership (docs/CLUSTER.md).
pub mod cluster {
    include!(concat!(env!("OUT_DIR"), "/carbon.cluster.v1.rs"));
}

/// The serialized `FileDescriptorSet`, for the gRPC reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/carbon_descriptor.bin"));

/// The domain-separation prefix signed in front of the ledger id and every
/// command payload (docs/SIGNING.md). Version 2: version 1 signed no ledger id.
pub const COMMAND_SIGNING_PREFIX: &[u8] = b"carbon-ledger/v2/command\n";

pub use v1::*;
