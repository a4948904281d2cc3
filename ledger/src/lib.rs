//! Carbon Ledger's core: the market's deterministic state machine
//! (RULEBOOK.md), its signed append-only journal on sled, and the replay of
//! market-day files (REPLAY.md).
//!
//! Nothing here knows gRPC: the service in `carbon-cli` feeds signed
//! envelopes to a [`node::Node`], which authenticates, applies, journals and
//! flushes them in batches, and answers only once they are durable.

pub mod audit;
pub mod checkpoint;
pub mod code;
pub mod command;
pub mod credential;
pub mod energy;
pub mod instrument;
pub mod journal;
pub mod keys;
pub mod market_day;
pub mod merkle;
pub mod node;
pub mod num;
pub mod replay;
pub mod replica;
pub mod report;
pub mod signature;
pub mod snapshot;
pub mod state;
pub mod views;

pub use code::Code;
