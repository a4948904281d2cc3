//! The gRPC clients of every `carbon` command, built on a channel from
//! [`crate::client::channel`]: each accepts answers of up to
//! [`MAX_ANSWER_BYTES`], the server's bound, above the largest outcome the
//! rules allow (an order filling against 99,999 orders is ~39 MB;
//! docs/RULES.md, "Limits on hostile input"). tonic's default, 4 MiB, would
//! make a client report an error for an order that executed.

use carbon_proto::v1 as pb;
pub use carbon_server::limits::MAX_ANSWER_BYTES;
use tonic::transport::Channel;

pub fn ledger(ch: Channel) -> pb::ledger_client::LedgerClient<Channel> {
    pb::ledger_client::LedgerClient::new(ch).max_decoding_message_size(MAX_ANSWER_BYTES)
}

pub fn market(ch: Channel) -> pb::market_client::MarketClient<Channel> {
    pb::market_client::MarketClient::new(ch).max_decoding_message_size(MAX_ANSWER_BYTES)
}

pub fn regulator(ch: Channel) -> pb::regulator_client::RegulatorClient<Channel> {
    pb::regulator_client::RegulatorClient::new(ch).max_decoding_message_size(MAX_ANSWER_BYTES)
}

pub fn supervision(ch: Channel) -> pb::supervision_client::SupervisionClient<Channel> {
    pb::supervision_client::SupervisionClient::new(ch).max_decoding_message_size(MAX_ANSWER_BYTES)
}
